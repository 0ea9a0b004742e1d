/**
 * The worker: serves testDeployLoop and its activities on a task queue. Uses the workflow bundle
 * built ahead of time (dist/workflow-bundle.js) so it starts in well under a second.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PayloadCodec } from '@temporalio/common';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from './activities';
import { payloadCodecs } from './codec';
import type { CommandPolicy } from './policy';
import { maxOutputBytes } from './process';
import { searchAttributeActivities } from './search-attributes-admin';
import { DEFAULT_TASK_QUEUE } from './workflows/messages';

/** Built by scripts/bundle-workflows.ts at `npm run build`. */
export const WORKFLOW_BUNDLE = resolve(__dirname, '..', 'workflow-bundle.js');

export interface LoopWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  /** Reports, JUnit files and logs; must be the same folder for every worker of the task queue. */
  reportsDir?: string;
  /** The commands this worker runs (src/policy.ts); null or absent: inline commands from any input. */
  commands?: CommandPolicy | null;
  /** Default: the codecs TDL_ENCRYPTION_KEY asks for (src/codec). */
  payloadCodecs?: PayloadCodec[];
}

export function workflowSource(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  if (existsSync(WORKFLOW_BUNDLE)) return { workflowBundle: { codePath: WORKFLOW_BUNDLE } };
  return { workflowsPath: require.resolve('./workflows') };
}

export function defaultReportsDir(): string {
  return resolve(process.env.TDL_REPORTS_DIR ?? 'reports');
}

export async function createLoopWorker(opts: LoopWorkerOptions): Promise<Worker> {
  maxOutputBytes(); // a malformed TDL_MAX_OUTPUT_BYTES stops the worker at start, not each command
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    taskQueue: opts.taskQueue ?? DEFAULT_TASK_QUEUE,
    ...workflowSource(),
    dataConverter: { payloadCodecs: opts.payloadCodecs ?? payloadCodecs() },
    activities: {
      ...createActivities({ reportsDir: resolve(opts.reportsDir ?? defaultReportsDir()), commands: opts.commands }),
      ...searchAttributeActivities,
    },
  });
}
