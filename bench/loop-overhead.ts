/**
 * Orchestration overhead and history size of the loop, on a real dev server.
 *
 * A loop of 3 cycles with trivial steps (the scripted suite, a command deploy): cycle 1 fails and is
 * retested, cycle 2 fails and gets a fix, which is deployed, and cycle 3 passes. For 10, 1,000 and
 * 10,000 tests it prints, per cycle:
 *   - overhead: wall time minus the steps' own time (activities, from their started/completed events)
 *     minus the time spent waiting for the bench to signal (people's time, not orchestration);
 *   - of that, the first workflow task (the loop's start: loading the workflow's modules in a fresh
 *     sandbox and parsing its input), which a loop pays once, not per cycle;
 *   - history events and bytes.
 * Targets: overhead under 150 ms median; history under 40 events and 16 KB per cycle, the same at
 * 10 and at 10,000 tests.
 *
 * Usage: npm run bench [-- --runs N]
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { ensureTemporalCli } from '../src/devserver/temporal-cli';
import { loopStartSearchAttributes } from '../src/search-attributes-admin';
import { LOOP_SEARCH_ATTRIBUTES } from '../src/search-attributes';
import * as messages from '../src/workflows/messages';
import { createLoopWorker } from '../src/worker';

type History = temporal.api.history.v1.IHistory;
const CYCLES = 3;
const SUITE = resolve(__dirname, '..', 'test', 'support', 'e2e-suite.js');

interface Measurement {
  overheadMsPerCycle: number;
  firstTaskMs: number;
  eventsPerCycle: number;
  bytesPerCycle: number;
}

const time = (e: temporal.api.history.v1.IHistoryEvent) => tsToMs(e.eventTime);

/** Activities' own time, and the time the loop sat waiting for our signals. */
function stepAndWaitTime(history: History): { stepsMs: number; waitsMs: number } {
  const events = history.events!;
  const byId = new Map(events.map((e) => [Number(e.eventId), e]));
  let stepsMs = 0;
  let waitsMs = 0;
  for (const [i, e] of events.entries()) {
    const done = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes;
    if (done) stepsMs += time(e) - time(byId.get(Number(done.startedEventId))!);
    // Waiting for a person: from the workflow task that went to sleep to the signal that woke it.
    if (e.workflowExecutionSignaledEventAttributes || e.workflowExecutionUpdateAcceptedEventAttributes) {
      const asleep = events.slice(0, i).reverse().find((p) => p.workflowTaskCompletedEventAttributes);
      if (asleep) waitsMs += time(e) - time(asleep);
    }
  }
  return { stepsMs, waitsMs };
}

async function runLoop(env: TestWorkflowEnvironment, taskQueue: string, tests: number): Promise<Measurement> {
  const staging = mkdtempSync(join(tmpdir(), 'tdl-bench-'));
  writeFileSync(join(staging, 'deploys.log'), '');
  const handle: WorkflowHandle = await env.client.workflow.start(messages.WORKFLOW_TYPE, {
    taskQueue,
    workflowId: `bench-${randomUUID()}`,
    // As `tdl start` starts a loop.
    typedSearchAttributes: await loopStartSearchAttributes(env.client, 'bench'),
    args: [
      {
        name: 'bench',
        suite: { command: `node ${SUITE}`, env: { STAGING_DIR: staging, SUITE_TESTS: String(tests) }, timeout: '5m' },
        deploy: { kind: 'command', command: `echo "$COMMIT" > '${staging}/deployed'`, timeout: '1m' },
        maxCycles: CYCLES,
      },
    ],
  });
  for (let cycle = 1; cycle < CYCLES; cycle++) {
    for (;;) {
      const s = await handle.query(messages.status);
      if (s.cycle === cycle && s.phase === 'awaiting-fix') break;
      await new Promise((r) => setTimeout(r, 10));
    }
    if (cycle === 1) await handle.signal(messages.retest, { reason: 'bench' });
    else await handle.signal(messages.fixCommitted, { commit: 'bench-fix' });
  }
  const result = await handle.result();
  if (result.phase !== 'passed' || result.cycles !== CYCLES) throw new Error(`bench loop ended ${result.phase} after ${result.cycles} cycles`);
  const history = await handle.fetchHistory();
  const events = history.events!;
  const wallMs = time(events[events.length - 1]) - time(events[0]);
  const { stepsMs, waitsMs } = stepAndWaitTime(history);
  const firstTaskStarted = events.find((e) => e.workflowTaskStartedEventAttributes)!;
  const firstTaskDone = events.find((e) => e.workflowTaskCompletedEventAttributes)!;
  return {
    overheadMsPerCycle: (wallMs - stepsMs - waitsMs) / CYCLES,
    firstTaskMs: time(firstTaskDone) - time(firstTaskStarted),
    eventsPerCycle: events.length / CYCLES,
    bytesPerCycle: temporal.api.history.v1.History.encode(history).finish().length / CYCLES,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
  const runs = Number(values.runs);
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const env = await TestWorkflowEnvironment.createLocal({
    // With the loop's search attributes, as `tdl dev` runs.
    server: { executable: { type: 'existing-path', path: ensureTemporalCli() }, ip: '127.0.0.1', ui: false, log: { format: 'pretty', level: 'error' }, searchAttributes: LOOP_SEARCH_ATTRIBUTES },
  });
  const taskQueue = `bench-${randomUUID()}`;
  const worker = await createLoopWorker({ connection: env.nativeConnection, taskQueue, reportsDir: mkdtempSync(join(tmpdir(), 'tdl-bench-reports-')) });
  const rows: string[] = [];
  await worker.runUntil(async () => {
    await runLoop(env, taskQueue, 10); // warm-up: workflow VM, connections
    for (const tests of [10, 1_000, 10_000]) {
      const m: Measurement[] = [];
      for (let i = 0; i < runs; i++) m.push(await runLoop(env, taskQueue, tests));
      const overhead = m.map((x) => x.overheadMsPerCycle);
      rows.push(
        `${String(tests).padStart(6)} tests | overhead/cycle median ${median(overhead).toFixed(0)} ms ` +
          `(min ${Math.min(...overhead).toFixed(0)}, max ${Math.max(...overhead).toFixed(0)}; first task ${median(m.map((x) => x.firstTaskMs)).toFixed(0)} ms) | ` +
          `history/cycle ${median(m.map((x) => x.eventsPerCycle)).toFixed(1)} events, ` +
          `${(median(m.map((x) => x.bytesPerCycle)) / 1024).toFixed(1)} KB`,
      );
    }
  });
  await env.teardown();
  console.log(`testDeployLoop, ${CYCLES} cycles with trivial steps, ${runs} runs per size, Temporal dev server on loopback`);
  console.log('targets: overhead/cycle < 150 ms median; history/cycle < 40 events and < 16 KB at every size');
  for (const row of rows) console.log(row);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
