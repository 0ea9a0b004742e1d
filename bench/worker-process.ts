/** For benches that measure a real `tdl worker` process: a dev server, the worker on a fresh queue, their memory. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ensureTemporalCli } from '../src/devserver/temporal-cli';
import { LOOP_SEARCH_ATTRIBUTES } from '../src/search-attributes';

/** dist/bench -> bin/tdl.js */
const TDL = resolve(__dirname, '..', '..', 'bin', 'tdl.js');

export interface BenchWorker {
  env: TestWorkflowEnvironment;
  taskQueue: string;
  /** A fresh folder for the bench; the worker's reports go to `<dir>/reports`. */
  dir: string;
  worker: ChildProcess;
}

/** Runs `fn` with a dev server and one worker process, and stops both after it. */
export async function withWorkerProcess<T>(prefix: string, workerEnv: Record<string, string>, fn: (b: BenchWorker) => Promise<T>): Promise<T> {
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: ensureTemporalCli() }, ip: '127.0.0.1', ui: false, log: { format: 'pretty', level: 'error' }, searchAttributes: LOOP_SEARCH_ATTRIBUTES },
  });
  const dir = mkdtempSync(join(tmpdir(), `tdl-bench-${prefix}-`));
  const taskQueue = `bench-${randomUUID()}`;
  const worker = spawn(process.execPath, [TDL, 'worker', '--task-queue', taskQueue, '--reports-dir', join(dir, 'reports')], {
    env: { ...process.env, TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: 'default', TDL_LOG_LEVEL: 'WARN', ...workerEnv },
    stdio: 'inherit',
  });
  try {
    return await fn({ env, taskQueue, dir, worker });
  } finally {
    worker.kill('SIGTERM');
    await new Promise((r) => (worker.exitCode !== null ? r(null) : worker.once('exit', r)));
    await env.teardown();
  }
}

/** A process's resident set now (VmRSS) or at its peak (VmHWM), in MB, from /proc (Linux). */
export function memoryMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return kb ? Number(kb) / 1024 : NaN;
}
