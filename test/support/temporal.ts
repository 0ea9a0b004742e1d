/**
 * One real Temporal dev server for the whole test run (the pinned Temporal CLI, started by the SDK's
 * testing package on free loopback ports), the time-skipping test server for suites of long waits,
 * and workers on unique task queues.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import * as messages from '../../src/workflows/messages';
import type { LoopStatus, Phase } from '../../src/workflows/state';
import { spawn, type ChildProcess } from 'node:child_process';
import { temporal } from '@temporalio/proto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureTemporalCli, ensureTool, TIME_SKIPPING_SERVER } from '../../src/devserver/temporal-cli';
import { freePort as freePortOn } from '../../src/devserver';
import { LOOP_SEARCH_ATTRIBUTES } from '../../src/search-attributes';
import { createLoopWorker } from '../../src/worker';
import type { LoopWorker } from '../../src/host-worker';

let shared: Promise<TestWorkflowEnvironment> | null = null;

/**
 * `uiPort`: also serve the Web UI there (browser tests); without it, no UI. `searchAttributes`:
 * register the loop's (as `tdl dev` does); false: a server without them, where loops keep to the memo.
 */
export function startTestServer(extraArgs: string[] = [], uiPort?: number, searchAttributes = true): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      searchAttributes: searchAttributes ? LOOP_SEARCH_ATTRIBUTES : [],
      executable: { type: 'existing-path', path: ensureTemporalCli() },
      ip: '127.0.0.1',
      ui: uiPort !== undefined,
      uiPort,
      extraArgs,
      log: { format: 'pretty', level: 'error' },
    },
  });
}

/**
 * Temporal's time-skipping test server, for the long waits (hours, days): time stands still until a
 * test sleeps (`env.sleep`) or waits for a result, then it jumps from timer to timer.
 */
export function startTimeSkippingServer(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: ensureTool(TIME_SKIPPING_SERVER) } },
  });
}

/** The run's shared dev server, started on first use and stopped by the root hook. */
export function testEnv(): Promise<TestWorkflowEnvironment> {
  shared ??= startTestServer();
  return shared;
}

export async function stopTestEnv(): Promise<void> {
  if (shared) await (await shared).teardown();
  shared = null;
}

export function tempDir(prefix = 'tdl-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface TestWorker {
  worker: LoopWorker;
  taskQueue: string;
  reportsDir: string;
}

export async function createTestWorker(env: TestWorkflowEnvironment): Promise<TestWorker> {
  const taskQueue = `tdl-test-${randomUUID()}`;
  const reportsDir = tempDir('tdl-reports-');
  const worker = await createLoopWorker({ connection: env.nativeConnection, taskQueue, reportsDir });
  return { worker, taskQueue, reportsDir };
}

/** Polls `check` until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the loop reports `phase`; returns its status then. */
export function phaseIs(handle: WorkflowHandle, phase: Phase): Promise<LoopStatus> {
  return eventually(async () => {
    const s = await handle.query(messages.status);
    return s.phase === phase ? s : undefined;
  }, `phase ${phase}`);
}

export interface WorkerPerTest {
  env(): TestWorkflowEnvironment;
  current(): TestWorker;
  /** Starts a loop on the current worker's task queue. */
  start(input: unknown): Promise<WorkflowHandle>;
}

/**
 * Mocha hooks: the shared server (or one of the suite's own, from `ownServer`, stopped after it),
 * and a fresh in-process worker around each test.
 */
export function workerPerTest(ownServer?: () => Promise<TestWorkflowEnvironment>): WorkerPerTest {
  let env: TestWorkflowEnvironment;
  let w: TestWorker;
  let running: Promise<void>;
  before(async function () {
    env = await (ownServer ?? testEnv)();
  });
  after(async function () {
    if (ownServer) await env.teardown();
  });
  beforeEach(async function () {
    w = await createTestWorker(env);
    running = w.worker.run();
  });
  let started: WorkflowHandleWithFirstExecutionRunId[] = [];
  afterEach(async function () {
    if (process.env.TDL_RECORD_HISTORIES) await recordHistories(started, this.currentTest?.fullTitle() ?? 'loop');
    started = [];
    w.worker.shutdown();
    await running;
  });
  return {
    env: () => env,
    current: () => w,
    start: async (input) => {
      const handle = await env.client.workflow.start(messages.WORKFLOW_TYPE, { taskQueue: w.taskQueue, workflowId: `loop-${randomUUID()}`, args: [input] });
      started.push(handle);
      return handle;
    },
  };
}

/**
 * With TDL_RECORD_HISTORIES=DIR, tests save the histories of the loops they ran (waiting for each to
 * close first): the fixtures that test/replay.test.ts replays so later workflow changes keep these
 * loops running. Binary protobuf, as the server sends it: the JSON route goes through a second copy
 * of protobufjs in this dependency tree and fails.
 */
async function recordHistories(handles: WorkflowHandleWithFirstExecutionRunId[], title: string): Promise<void> {
  const dir = process.env.TDL_RECORD_HISTORIES!;
  mkdirSync(dir, { recursive: true });
  const slug = title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 80);
  for (const [i, handle] of handles.entries()) {
    await Promise.race([handle.result().catch(() => undefined), new Promise((r) => setTimeout(r, 10_000))]);
    const name = `${slug}${handles.length > 1 ? `-${i + 1}` : ''}`;
    const latest = await handle.fetchHistory();
    writeFileSync(join(dir, `${name}.binpb`), temporal.api.history.v1.History.encode(latest).finish());
    // A loop that continued as new: its first run too, which ends in ContinuedAsNew.
    const first = await handle.client.getHandle(handle.workflowId, handle.firstExecutionRunId).fetchHistory();
    if (first.events!.length && first.events![first.events!.length - 1].workflowExecutionContinuedAsNewEventAttributes) {
      writeFileSync(join(dir, `${name}-first-run.binpb`), temporal.api.history.v1.History.encode(first).finish());
    }
  }
}

/** dist/test/support -> bin/tdl.js */
export const TDL = resolve(__dirname, '..', '..', '..', 'bin', 'tdl.js');

/** A worker in its own process (`tdl worker`), for tests that kill it. */
export function spawnWorker(env: TestWorkflowEnvironment, taskQueue: string, reportsDir: string, extraEnv: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [TDL, 'worker', '--task-queue', taskQueue, '--reports-dir', reportsDir], {
    env: { ...process.env, TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: 'default', TDL_LOG_LEVEL: 'WARN', ...extraEnv },
    stdio: 'ignore',
  });
}

/** SIGKILL, and wait until the process is gone. */
export async function killHard(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

/** A port that was free a moment ago, for servers that take a port number rather than 0. */
export function freePort(): Promise<number> {
  return freePortOn('127.0.0.1');
}
