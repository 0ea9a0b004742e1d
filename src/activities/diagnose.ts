/**
 * The `diagnose` activity: the diagnosis engine on the cycle's JUnit files plus live probes. The full
 * diagnosis and report go to files; only counts and root-cause summaries go back to the workflow, so
 * history stays the same size at 10 tests and at 10,000. The engine runs in worker threads
 * (diagnose-thread.ts), at most a few at a time, so the worker's event loop stays free; each job has
 * a thread to itself, bounded in memory and in time (the activity's own timeout).
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
/**
 * A hostile report must not take the worker's memory with it: the thread dies alone. A process-wide
 * --max-old-space-size overrides it, so the Docker image's flag has this same value.
 */
export const THREAD_HEAP_MB = 1024;
/** Cancellation reaches an activity only through its heartbeats. */
const HEARTBEAT_MS = 1000;
/** An idle thread leaves after this long: a worker whose loops wait for people holds no engine. */
const IDLE_MS = 30_000;

let running = 0;
const queue: (() => void)[] = [];
/**
 * Threads that finished their job cleanly, waiting for the next one: starting a thread and loading
 * the engine into it cost more than a small diagnosis. A thread that was aborted, failed or ran out
 * of memory is never reused, so one loop's report cannot leave a thread in a state another loop sees.
 */
const idle: Worker[] = [];
const idleTimers = new WeakMap<Worker, NodeJS.Timeout>();

/** How many diagnosis threads wait for a job (the pool's reuse, observable). */
export const idleDiagnosisThreads = () => idle.length;

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

function thread(): Worker {
  let t = idle.pop();
  if (t) clearTimeout(idleTimers.get(t));
  else {
    t = new Worker(join(__dirname, 'diagnose-thread.js'), { resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB } });
    // Between jobs nobody else listens: an idle thread that dies leaves the pool, not the process.
    const gone = t;
    gone.on('error', () => undefined).once('exit', () => idle.includes(gone) && idle.splice(idle.indexOf(gone), 1));
  }
  t.ref();
  return t;
}

/**
 * Runs digest() in a thread of the pool; aborting terminates the thread (the signal is the job's
 * time limit and its cancellation). LoopErrors keep their type.
 */
export async function digestInThread(job: DiagnoseJob, signal: AbortSignal, onTick: () => void = () => undefined): Promise<CycleDiagnosis> {
  const release = await slot(signal);
  const t = thread();
  const ticker = setInterval(onTick, HEARTBEAT_MS);
  const abort = () => void t.terminate();
  signal.addEventListener('abort', abort, { once: true });
  let reusable = false;
  try {
    const reply = await new Promise<ThreadReply>((resolve, reject) => {
      const settle = () => t.off('message', onMessage).off('error', reject).off('exit', onExit);
      const onMessage = (r: ThreadReply) => (settle(), resolve(r));
      const onExit = (code: number) => (settle(), reject(signal.reason ?? new Error(`the diagnosis thread exited with code ${code} before answering`)));
      t.on('message', onMessage).on('error', reject).on('exit', onExit);
      t.postMessage(job);
    });
    if ('ok' in reply) {
      reusable = !signal.aborted;
      return reply.ok;
    }
    const { type, name, message, stack } = reply.error;
    const err = type ? new LoopError(type, message) : Object.assign(new Error(message), { name });
    if (stack) err.stack = stack;
    throw err;
  } finally {
    clearInterval(ticker);
    signal.removeEventListener('abort', abort);
    if (reusable) {
      // An idle thread must not keep the process alive.
      t.unref();
      idle.push(t);
      const parked = t;
      idleTimers.set(parked, setTimeout(() => void parked.terminate(), IDLE_MS).unref());
    } else void t.terminate();
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
  // Past the activity's own timeout nobody waits for the result: the thread is stopped then.
  const signal = AbortSignal.any([ctx.cancellationSignal, AbortSignal.timeout(ctx.info.startToCloseTimeoutMs)]);
  const result = await digestInThread({ ...rest, probes, dir, secretEnv: secretEnvNames() }, signal, () => ctx.heartbeat({ cycle: input.cycle }));
  ctx.log.info('diagnosed', { cycle: input.cycle, verdict: result.verdict, rootCauses: result.rootCauses.length });
  return result;
}
