/**
 * The `diagnose` activity: the diagnosis engine on the cycle's JUnit files plus live probes. The full
 * diagnosis and report go to files; only counts and root-cause summaries go back to the workflow, so
 * history stays the same size at 10 tests and at 10,000. The engine runs in a worker thread
 * (diagnose-thread.ts), at most a few at a time, so the worker's event loop stays free.
 */
import { Context } from '@temporalio/activity';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ProbesConfig } from '../config/types';
import { runProbes } from '../diagnosis/probes';
import { LoopError } from '../errors';
import { rememberSecretEnv, secretEnvNames, secretEnvOf } from '../secrets';
import type { CycleDiagnosis, DiagnoseJob, ThreadReply } from './diagnose-thread';
import { cycleDir } from './paths';

export type { CycleDiagnosis } from './diagnose-thread';

export interface DiagnoseInput {
  loopName: string;
  cycle: number;
  command: string;
  startedAt: string;
  junitPaths: string[];
  suiteDurationMs: number;
  probes: ProbesConfig;
}

/** Threads at once: one core stays for the event loop and the suites' processes. */
const MAX_THREADS = Math.max(1, Math.min(4, availableParallelism() - 1));
/** A hostile report must not take the worker's memory with it: the thread dies alone. */
const THREAD_HEAP_MB = 1024;
/** Cancellation reaches an activity only through its heartbeats. */
const HEARTBEAT_MS = 1000;

let running = 0;
const queue: (() => void)[] = [];

async function slot(signal: AbortSignal): Promise<() => void> {
  if (running >= MAX_THREADS) {
    await new Promise<void>((resolve, reject) => {
      const go = () => {
        signal.removeEventListener('abort', drop);
        resolve();
      };
      const drop = () => {
        queue.splice(queue.indexOf(go), 1);
        reject(signal.reason);
      };
      queue.push(go);
      signal.addEventListener('abort', drop, { once: true });
    });
  } else running++;
  // A released slot passes straight to the next waiter (running stays counted).
  return () => (queue.length > 0 ? queue.shift()!() : running--);
}

/** Runs digest() in a thread; aborting terminates the thread. LoopErrors keep their type. */
export async function digestInThread(job: DiagnoseJob, signal: AbortSignal, onTick: () => void = () => undefined): Promise<CycleDiagnosis> {
  const release = await slot(signal);
  const thread = new Worker(join(__dirname, 'diagnose-thread.js'), { workerData: job, resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB } });
  const ticker = setInterval(onTick, HEARTBEAT_MS);
  const abort = () => void thread.terminate();
  signal.addEventListener('abort', abort, { once: true });
  try {
    const reply = await new Promise<ThreadReply>((resolve, reject) => {
      thread.once('message', resolve);
      thread.once('error', reject);
      thread.once('exit', (code) => reject(signal.reason ?? new Error(`the diagnosis thread exited with code ${code} before answering`)));
    });
    if ('ok' in reply) return reply.ok;
    const { type, name, message, stack } = reply.error;
    const err = type ? new LoopError(type, message) : Object.assign(new Error(message), { name });
    if (stack) err.stack = stack;
    throw err;
  } finally {
    clearInterval(ticker);
    signal.removeEventListener('abort', abort);
    void thread.terminate();
    release();
  }
}

export async function diagnoseIn(reportsDir: string, input: DiagnoseInput): Promise<CycleDiagnosis> {
  const ctx = Context.current();
  rememberSecretEnv(secretEnvOf(input.probes));
  const hasProbes = Boolean(input.probes.websocket || input.probes.jwt || input.probes.http);
  const probes = hasProbes ? await runProbes(input.probes, process.env, { signal: ctx.cancellationSignal }) : undefined;
  const dir = cycleDir(reportsDir, ctx.info.workflowExecution!.workflowId, input.cycle);
  const { probes: _config, ...rest } = input;
  const result = await digestInThread({ ...rest, probes, dir, secretEnv: secretEnvNames() }, ctx.cancellationSignal, () =>
    ctx.heartbeat({ cycle: input.cycle }),
  );
  ctx.log.info('diagnosed', { cycle: input.cycle, verdict: result.verdict, rootCauses: result.rootCauses.length });
  return result;
}
