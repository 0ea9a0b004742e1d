/**
 * Failed tests first: time to the first verdict after a fix against the full suite's time, on a real
 * dev server with a generated suite (each test takes --test-ms; every 10th fails until the fix).
 *
 * A loop's cycle 1 runs the full suite (10% fail); the fix is deployed (a command) and verified; cycle
 * 2 runs the failing tests first (suite.selectCommand with $FAILED_TESTS), gives its early verdict,
 * then runs the full suite. From cycle 2's history: first verdict = from the failed-first step's
 * scheduling to its completion (the early verdict is in the status then); full suite = the same for
 * the full run. Goal: first verdict <= 15% of the full suite's time. The default 20 ms a test is fast for
 * an e2e test (the seed's took seconds each): each run pays a fixed start-up cost (a process, the
 * previous report read) that shrinks, as a share, as tests get slower.
 *
 * Usage: node dist/bench/failed-first.js [--tests 1000] [--test-ms 20] [--runs 3]
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { tsToMs } from '@temporalio/common/lib/time';
import type { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { ensureTemporalCli } from '../src/devserver/temporal-cli';
import * as messages from '../src/workflows/messages';
import { createLoopWorker } from '../src/worker';

const SUITE = resolve(__dirname, '..', 'test', 'support', 'select-suite.js');
const GOAL = 0.15;

type Event = temporal.api.history.v1.IHistoryEvent;

/** Scheduled-to-completed time of each run of `activity`, in order. */
function activityTimes(events: Event[], activity: string): number[] {
  const byId = new Map(events.map((e) => [Number(e.eventId), e]));
  return events
    .filter((e) => e.activityTaskCompletedEventAttributes)
    .map((e) => ({ done: e, scheduled: byId.get(Number(e.activityTaskCompletedEventAttributes!.scheduledEventId))! }))
    .filter(({ scheduled }) => scheduled.activityTaskScheduledEventAttributes!.activityType!.name === activity)
    .map(({ done, scheduled }) => tsToMs(done.eventTime) - tsToMs(scheduled.eventTime));
}

async function runLoop(env: TestWorkflowEnvironment, taskQueue: string, tests: number, testMs: number) {
  const staging = mkdtempSync(join(tmpdir(), 'tdl-bench-'));
  writeFileSync(join(staging, 'deploys.log'), '');
  const command = `node ${SUITE}`;
  const handle = await env.client.workflow.start(messages.WORKFLOW_TYPE, {
    taskQueue,
    workflowId: `bench-ff-${randomUUID()}`,
    args: [
      {
        name: 'bench-failed-first',
        suite: {
          command,
          selectCommand: command,
          env: { STAGING_DIR: staging, SUITE_TESTS: String(tests), FAIL_EVERY: '10', SUITE_TEST_MS: String(testMs), FIXED_BY: 'bench-fix' },
          timeout: '10m',
        },
        deploy: { kind: 'command', command: `echo "$COMMIT" > '${staging}/deployed'`, timeout: '1m' },
        maxCycles: 2,
      },
    ],
  });
  for (;;) {
    const s = await handle.query(messages.status);
    if (s.phase === 'awaiting-fix') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  await handle.signal(messages.fixCommitted, { commit: 'bench-fix' });
  const result = await handle.result();
  if (result.phase !== 'passed') throw new Error(`bench loop ended ${result.phase}`);
  const status = await handle.query(messages.status);
  const ff = status.cycles[1].failedFirst;
  if (ff?.verdict !== 'fixed') throw new Error(`no early verdict: ${JSON.stringify(ff)}`);
  const events = (await handle.fetchHistory()).events!;
  const [firstVerdictMs] = activityTimes(events, 'runFailingTests');
  const fullMs = activityTimes(events, 'runSuite')[1];
  return { firstVerdictMs, fullMs, summary: ff.summary };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const { values } = parseArgs({ options: { tests: { type: 'string', default: '1000' }, 'test-ms': { type: 'string', default: '20' }, runs: { type: 'string', default: '3' } } });
  const tests = Number(values.tests);
  const testMs = Number(values['test-ms']);
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: ensureTemporalCli() }, ip: '127.0.0.1', ui: false, log: { format: 'pretty', level: 'error' } },
  });
  const taskQueue = `bench-${randomUUID()}`;
  const worker = await createLoopWorker({ connection: env.nativeConnection, taskQueue, reportsDir: mkdtempSync(join(tmpdir(), 'tdl-bench-reports-')) });
  const results: Awaited<ReturnType<typeof runLoop>>[] = [];
  await worker.runUntil(async () => {
    for (let i = 0; i < Number(values.runs); i++) results.push(await runLoop(env, taskQueue, tests, testMs));
  });
  await env.teardown();
  const ratios = results.map((r) => r.firstVerdictMs / r.fullMs);
  console.log(`failed tests first: ${tests} tests of ${testMs} ms, every 10th failing before the fix; ${results.length} runs, Temporal dev server on loopback`);
  console.log(`early verdict: "${results[0].summary}"`);
  for (const r of results) console.log(`  first verdict ${r.firstVerdictMs} ms, full suite ${r.fullMs} ms: ${((100 * r.firstVerdictMs) / r.fullMs).toFixed(1)}%`);
  const m = median(ratios);
  console.log(`median: first verdict at ${(100 * m).toFixed(1)}% of the full suite's time (goal <= ${100 * GOAL}%): ${m <= GOAL ? 'met' : 'NOT met'}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
