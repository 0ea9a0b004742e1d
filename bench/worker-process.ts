/** For benches that measure a real `tdl worker` process: a dev server, the worker on a fresh queue, their memory. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
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

/** How the worker process is run: node's flags and the allocator's environment. */
export interface WorkerRuntime {
  execArgv: string[];
  env: Record<string, string>;
}

/** Plain `node bin/tdl.js worker`, as `npx tdl worker` runs it. */
export const PLAIN_NODE: WorkerRuntime = { execArgv: [], env: {} };

/**
 * The worker as the Docker image runs it, read from the Dockerfile: the node flags of its ENTRYPOINT
 * and the allocator settings of its ENV. The allocator is preloaded only where this host has it
 * (Debian: `apt-get install libjemalloc2`); `describeRuntime` says which one was measured.
 */
export function imageRuntime(): WorkerRuntime {
  const dockerfile = readFileSync(resolve(__dirname, '..', '..', 'Dockerfile'), 'utf8');
  const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1] ?? '[]') as string[];
  const env: Record<string, string> = {};
  for (const [, line] of dockerfile.matchAll(/^ENV (.*)$/gm)) {
    for (const [, name, value] of line.matchAll(/(\w+)=(\S+)/g)) if (/^(LD_PRELOAD|MALLOC_)/.test(name)) env[name] = value;
  }
  const execArgv = entrypoint.filter((arg) => arg.startsWith('--'));
  // Without the preloaded allocator its settings mean nothing: glibc's defaults are measured.
  if (env.LD_PRELOAD && !sharedLibraries().includes(env.LD_PRELOAD)) return { execArgv, env: {} };
  return { execArgv, env };
}

function sharedLibraries(): string {
  for (const ldconfig of ['ldconfig', '/sbin/ldconfig']) {
    try {
      return execFileSync(ldconfig, ['-p'], { encoding: 'utf8' });
    } catch {
      // not on PATH (a non-root user's PATH often lacks /sbin): try the next
    }
  }
  return '';
}

export function describeRuntime({ execArgv, env }: WorkerRuntime): string {
  const allocator = env.LD_PRELOAD ? `${env.LD_PRELOAD} preloaded` : 'glibc malloc';
  const settings = Object.entries(env).map(([name, value]) => `${name}=${value}`);
  return `node ${[...execArgv, 'bin/tdl.js worker'].join(' ')}, ${allocator}${settings.length ? ` (${settings.join(' ')})` : ''}`;
}

/** Runs `fn` with a dev server and one worker process, and stops both after it. */
export async function withWorkerProcess<T>(prefix: string, workerEnv: Record<string, string>, fn: (b: BenchWorker) => Promise<T>, runtime = PLAIN_NODE): Promise<T> {
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: ensureTemporalCli() }, ip: '127.0.0.1', ui: false, log: { format: 'pretty', level: 'error' }, searchAttributes: LOOP_SEARCH_ATTRIBUTES },
  });
  const dir = mkdtempSync(join(tmpdir(), `tdl-bench-${prefix}-`));
  const taskQueue = `bench-${randomUUID()}`;
  const worker = spawn(process.execPath, [...runtime.execArgv, TDL, 'worker', '--task-queue', taskQueue, '--reports-dir', join(dir, 'reports')], {
    env: { ...process.env, TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: 'default', TDL_LOG_LEVEL: 'WARN', ...runtime.env, ...workerEnv },
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
