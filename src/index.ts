/**
 * test-deploy-loop for your own tooling: the loop's messages and status types (to signal and query
 * loops with @temporalio/client), its input parser, the worker, and the diagnosis engine.
 */
export * from './workflows/messages';
export type { LoopStatus, Phase, CycleRecord, RootCause, RunSummary, WaitingFor } from './workflows/state';
export type { LoopResult } from './workflows/loop';
export { parseLoopConfig, ConfigError, type LoopConfig } from './config';
export { createLoopWorker, type LoopWorkerOptions } from './worker';
export { LoopWorker } from './host-worker';
export { diagnose } from './diagnosis';
export type { Diagnosis, Cluster, Category, Verdict } from './diagnosis/types';
