/**
 * Many concurrent loops on one worker: its memory and the time per loop, on a real dev server.
 *
 * One `tdl worker` process (as in production, with its worker-specific queue) serves N loops started
 * at once. Each loop's suite (a shell one-liner writing a JUnit report: the orchestration is measured,
 * not a test runner) fails in cycle 1, so all N loops wait for a fix together; then every loop gets a
 * fix (deploy kind "none"), and cycle 2 passes. Prints the time until all N wait, the time until all
 * N passed, wall time per loop, and the worker's RSS while all wait and its peak RSS (VmHWM).
 * Goal: peak RSS < 200 MB at 2,000 loops.
 *
 * The worker keeps at most --max-cached-loops loops in memory (`tdl worker --max-cached-loops`); the
 * others wait in history and are replayed when they move, at most --max-concurrent-workflow-tasks at
 * a time (`tdl worker --max-concurrent-workflow-tasks`).
 *
 * The worker runs as the Docker image runs it (its node flags and allocator, read from the Dockerfile;
 * see `imageRuntime`), or with `--runtime plain` as `npx tdl worker` runs it.
 *
 * Usage: node dist/bench/many-loops.js [--loops 2000] [--max-cached-loops 20] [--max-concurrent-workflow-tasks 4] [--runtime image|plain]
 */
import { randomUUID } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { loopStartSearchAttributes } from '../src/search-attributes-admin';
import * as messages from '../src/workflows/messages';
import { describeRuntime, imageRuntime, memoryMb, PLAIN_NODE, withWorkerProcess } from './worker-process';

const PASS = '<testsuite name="s" tests="1"><testcase classname="smoke" name="t1"/></testsuite>';
const FAIL = '<testsuite name="s" tests="1" failures="1"><testcase classname="smoke" name="t1"><failure message="HTTP 401 token expired"/></testcase></testsuite>';

/** Runs `fn` on every item with at most `width` at a time (the client's own RPCs, not the loops). */
async function eachLimited<T>(items: T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

/** Waits until `n` loops on the queue show `phase` in their memo: visibility, not queries, which would compete with the loops' own work. */
async function waitAll(client: Client, taskQueue: string, n: number, phase: string): Promise<void> {
  for (;;) {
    let count = 0;
    for await (const w of client.workflow.list({ query: `TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"` })) {
      if (w.memo?.phase === phase) count++;
    }
    if (count >= n) return;
    await new Promise((r) => setTimeout(r, 2000));
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      loops: { type: 'string', default: '2000' },
      // The README's settings for a worker with many loops, not the SDK's defaults (by heap size, and 40).
      'max-cached-loops': { type: 'string', default: '20' },
      'max-concurrent-workflow-tasks': { type: 'string', default: '4' },
      runtime: { type: 'string', default: 'image' },
    },
  });
  if (values.runtime !== 'image' && values.runtime !== 'plain') throw new Error(`--runtime must be image or plain, not ${values.runtime}`);
  const runtime = values.runtime === 'image' ? imageRuntime() : PLAIN_NODE;
  const n = Number(values.loops);
  const cached = values['max-cached-loops'];
  const deciding = values['max-concurrent-workflow-tasks'];
  const capacity = { TDL_MAX_CACHED_LOOPS: cached, TDL_MAX_CONCURRENT_WORKFLOW_TASKS: deciding };
  await withWorkerProcess('many', capacity, async ({ env, taskQueue, dir, worker }) => {
    const fixed = join(dir, 'fixed');
    const input = {
      name: 'bench',
      suite: { command: `if [ -e '${fixed}' ]; then echo '${PASS}'; else echo '${FAIL}'; fi > "$JUNIT_XML"`, timeout: '5m' },
      maxCycles: 3,
    };
    // As `tdl start` starts a loop.
    const typedSearchAttributes = await loopStartSearchAttributes(env.client, input.name);
    const t0 = Date.now();
    const handles: WorkflowHandle[] = [];
    await eachLimited(Array.from({ length: n }, (_, i) => i), 50, async (i) => {
      handles.push(await env.client.workflow.start(messages.WORKFLOW_TYPE, { taskQueue, workflowId: `bench-${i}-${randomUUID()}`, args: [input], typedSearchAttributes }));
    });
    const started = Date.now();
    await waitAll(env.client, taskQueue, n, 'awaiting-fix');
    const waiting = Date.now();
    const rssWaiting = memoryMb(worker.pid!, 'VmRSS');
    if (!existsSync(fixed)) writeFileSync(fixed, '');
    await eachLimited(handles, 50, (h) => h.signal(messages.fixCommitted, { commit: 'b3nch' }));
    await eachLimited(handles, 50, async (h) => {
      const r = (await h.result()) as { phase: string };
      if (r.phase !== 'passed') throw new Error(`${h.workflowId} ended ${r.phase}`);
    });
    const done = Date.now();
    console.log(`${n} concurrent loops on one worker keeping at most ${cached} in memory and deciding for ${deciding} at once (2 cycles each: a failing suite, a fix, a passing suite), Temporal dev server on loopback`);
    console.log(`started all in ${((started - t0) / 1000).toFixed(1)} s; all awaiting a fix after ${((waiting - t0) / 1000).toFixed(1)} s; all passed after ${((done - t0) / 1000).toFixed(1)} s`);
    console.log(`worker: ${describeRuntime(runtime)}`);
    console.log(`time per loop (wall / loops): ${((done - t0) / n).toFixed(1)} ms`);
    console.log(`worker RSS with all ${n} waiting: ${rssWaiting.toFixed(0)} MB; peak RSS: ${memoryMb(worker.pid!, 'VmHWM').toFixed(0)} MB (goal < 200 MB)`);
  }, runtime);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
