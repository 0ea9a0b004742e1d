/**
 * The loop's messages, shared by the workflow and every client (CLI, scripts, tests).
 * Names are the public contract (../shared/CONTRACT.md).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { LoopStatus } from './state';

export const WORKFLOW_TYPE = 'testDeployLoop';
export const DEFAULT_TASK_QUEUE = 'test-deploy-loop';

export interface FixCommitted {
  commit: string;
  summary?: string;
  author?: string;
}

export interface FixAccepted {
  accepted: true;
  /** The cycle whose failures this fix answers. */
  cycle: number;
}

export interface InfraRestored {
  note?: string;
}

export interface Retest {
  reason?: string;
}

/** The fix team committed a fix: deploy it. */
export const fixCommitted = defineSignal<[FixCommitted]>('fixCommitted');
/** Same as fixCommitted, validated, and answered. */
export const submitFix = defineUpdate<FixAccepted, [FixCommitted]>('submitFix');
/** Infrastructure is back: verify again now. */
export const infraRestored = defineSignal<[InfraRestored?]>('infraRestored');
/** Run the suite again now, without a deploy. */
export const retest = defineSignal<[Retest?]>('retest');

export const status = defineQuery<LoopStatus>('status');
/** The latest cycle report, Markdown. */
export const report = defineQuery<string>('report');
