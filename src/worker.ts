/**
 * The worker: serves testDeployLoop and its activities on a task queue. Uses the workflow bundle
 * built ahead of time (dist/workflow-bundle.js) so it starts in well under a second.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PayloadCodec } from '@temporalio/common';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from './activities';
import { artifactSettings, createArtifactStore, type ArtifactSettings } from './artifacts';
import { dataConverter, payloadCodecs } from './codec';
import { hostQueueName, LoopWorker } from './host-worker';
import type { CommandPolicy } from './policy';
import { maxOutputBytes } from './process';
import { searchAttributeActivities } from './search-attributes-admin';
import { DEFAULT_TASK_QUEUE } from './workflows/messages';

/** Built by scripts/bundle-workflows.ts at `npm run build`. */
export const WORKFLOW_BUNDLE = resolve(__dirname, '..', 'workflow-bundle.js');
/** The same, its failure converter encoding failures' message and stack: for workers with encryption on. */
export const ENCODED_FAILURES_BUNDLE = resolve(__dirname, '..', 'workflow-bundle-encoded-failures.js');

export interface LoopWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  /** This worker's reports and logs, before and (with the default store) after publishing. */
  reportsDir?: string;
  /** Where reports are published; default: TDL_ARTIFACTS / TDL_ARTIFACTS_ENDPOINT, else the reports folder. */
  artifacts?: ArtifactSettings;
  /** The commands this worker runs (src/policy.ts); null or absent: inline commands from any input. */
  commands?: CommandPolicy | null;
  /** Default: the codecs TDL_ENCRYPTION_KEY asks for (src/codec). */
  payloadCodecs?: PayloadCodec[];
  capacity?: WorkerCapacity;
}

/** What bounds a worker's memory; each default is the SDK's. */
export interface WorkerCapacity {
  /**
   * Loops kept in memory between their steps (Temporal's sticky workflow cache). The others wait in
   * history only and are replayed, a few milliseconds each, when a step or a message moves them:
   * this bounds the worker's memory whatever the number of loops. Default: by heap size.
   */
  maxCachedLoops?: number;
  /**
   * Workflow tasks (a loop deciding its next step) handled at once. When many loops move together,
   * each task of an evicted loop replays its history: fewer at once lowers the worker's peak memory
   * and costs throughput. At least 2, and at most maxCachedLoops. Default: 40.
   */
  maxConcurrentWorkflowTasks?: number;
}

/** `encodedFailures`: the sandbox's failures encoded (with encryption on); without a bundle, the worker's data converter says so. */
export function workflowSource(encodedFailures = false): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  const bundle = encodedFailures ? ENCODED_FAILURES_BUNDLE : WORKFLOW_BUNDLE;
  if (existsSync(bundle)) return { workflowBundle: { codePath: bundle } };
  return { workflowsPath: require.resolve('./workflows') };
}

export function defaultReportsDir(): string {
  return resolve(process.env.TDL_REPORTS_DIR ?? 'reports');
}

export async function createLoopWorker(opts: LoopWorkerOptions): Promise<LoopWorker> {
  maxOutputBytes(); // a malformed TDL_MAX_OUTPUT_BYTES stops the worker at start, not each command
  const taskQueue = opts.taskQueue ?? DEFAULT_TASK_QUEUE;
  const reportsDir = resolve(opts.reportsDir ?? defaultReportsDir());
  const hostQueue = hostQueueName(taskQueue);
  const artifacts = createArtifactStore(reportsDir, opts.artifacts ?? artifactSettings());
  const activities = { ...createActivities({ reportsDir, commands: opts.commands, artifacts, hostQueue }), ...searchAttributeActivities };
  const codecs = opts.payloadCodecs ?? payloadCodecs();
  const common = {
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    dataConverter: dataConverter(codecs),
    activities,
  };
  const shared = await Worker.create({
    ...common,
    taskQueue,
    ...workflowSource(codecs.length > 0),
    maxCachedWorkflows: opts.capacity?.maxCachedLoops,
    maxConcurrentWorkflowTaskExecutions: opts.capacity?.maxConcurrentWorkflowTasks,
  });
  // Diagnoses wait for a thread inside the activity, heartbeating: taking many at once keeps their
  // schedule-to-start short, so only a dead worker ever misses it.
  return new LoopWorker(shared, await Worker.create({ ...common, taskQueue: hostQueue, maxConcurrentActivityTaskExecutions: 1000 }), hostQueue);
}
