/**
 * Search attributes: loops show phase, cycle, name and what they wait for in the Web UI's list and
 * `tdl list --phase`, on a server that has them; on one without them loops keep to the memo, and
 * `tdl setup` registers them.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { devServerSearchAttributeArgs, LoopCycle, LoopName, LoopPhase, loopListQuery, PHASES, WaitingFor } from '../src/search-attributes';
import * as messages from '../src/workflows/messages';
import { loopInput, stagingDir } from './support/loop-input';
import { runTdl } from './support/tdl-process';
import { createTestWorker, eventually, phaseIs, startTestServer, testEnv, type TestWorker } from './support/temporal';

describe('search attributes', function () {
  it('are declared once: the dev server flags, the list query and the phases come from the same keys', function () {
    assert.deepEqual(devServerSearchAttributeArgs(), [
      '--search-attribute', 'LoopPhase=Keyword',
      '--search-attribute', 'LoopCycle=Int',
      '--search-attribute', 'LoopName=Keyword',
      '--search-attribute', 'WaitingFor=Keyword',
    ]);
    assert.equal(loopListQuery('awaiting-fix'), 'WorkflowType = "testDeployLoop" AND LoopPhase = "awaiting-fix"');
    assert.equal(loopListQuery(), 'WorkflowType = "testDeployLoop"');
    assert.ok(PHASES.includes('awaiting-fix') && PHASES.includes('gave-up') && PHASES.length === 9);
  });

  /** Starts a loop that fails until a fix is deployed, and waits until it waits for that fix. */
  async function loopAwaitingFix(env: TestWorkflowEnvironment, w: TestWorker) {
    const handle = await env.client.workflow.start(messages.WORKFLOW_TYPE, {
      taskQueue: w.taskQueue,
      workflowId: `sa-${randomUUID()}`,
      args: [loopInput(stagingDir(), { name: 'sa-staging' })],
    });
    await phaseIs(handle, 'awaiting-fix');
    return handle;
  }

  async function withWorker<T>(env: TestWorkflowEnvironment, fn: (w: TestWorker) => Promise<T>): Promise<T> {
    const w = await createTestWorker(env);
    const running = w.worker.run();
    try {
      return await fn(w);
    } finally {
      w.worker.shutdown();
      await running;
    }
  }

  it('on a server that has them, a loop upserts them on each phase change and `tdl list --phase` filters on them', async function () {
    const env = await testEnv();
    await withWorker(env, async (w) => {
      const handle = await loopAwaitingFix(env, w);
      const sa = await eventually(async () => {
        const d = await handle.describe();
        return d.typedSearchAttributes.get(LoopPhase) === 'awaiting-fix' ? d.typedSearchAttributes : undefined;
      }, 'LoopPhase = awaiting-fix');
      assert.equal(sa.get(LoopCycle), 1);
      assert.equal(sa.get(LoopName), 'sa-staging');
      assert.equal(sa.get(WaitingFor), 'fix');

      // One upsert per phase change (testing, diagnosing, awaiting-fix), and the memo beside each, with the time so far.
      const events = (await handle.fetchHistory()).events!;
      const upserts = events.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.LoopPhase);
      assert.equal(upserts.length, 3);
      assert.equal(events.filter((e) => e.workflowPropertiesModifiedEventAttributes).length, 3);

      const listed = await eventually(async () => {
        const r = await runTdl(env, ['list', '--phase', 'awaiting-fix', '--json', '--limit', '500']);
        assert.equal(r.code, 0, r.stderr);
        const loops = JSON.parse(r.stdout) as { workflowId: string; phase: string; cycle: number }[];
        return loops.find((l) => l.workflowId === handle.workflowId);
      }, 'the loop in tdl list --phase awaiting-fix');
      assert.deepEqual([listed.phase, listed.cycle], ['awaiting-fix', 1]);
      const testing = JSON.parse((await runTdl(env, ['list', '--phase', 'testing', '--json', '--limit', '500'])).stdout) as { workflowId: string }[];
      assert.ok(!testing.some((l) => l.workflowId === handle.workflowId), 'a loop awaiting a fix is not listed as testing');

      // Once the fix is in, the attributes follow the loop to its end.
      await handle.signal(messages.fixCommitted, { commit: 'abc1234' });
      await handle.result();
      const end = (await handle.describe()).typedSearchAttributes;
      assert.equal(end.get(LoopPhase), 'passed');
      assert.equal(end.get(WaitingFor), undefined);
    });
  });

  it('a loop `tdl start` starts carries them from its start, so it never asks the server whether it has them', async function () {
    const env = await testEnv();
    await withWorker(env, async (w) => {
      const input = JSON.stringify(loopInput(stagingDir(), { name: 'sa-started' }));
      const started = await runTdl(env, ['start', '--input', input, '--task-queue', w.taskQueue, '--json']);
      assert.equal(started.code, 0, started.stderr);
      const handle = env.client.workflow.getHandle((JSON.parse(started.stdout) as { workflowId: string }).workflowId);
      const atStart = (await handle.describe()).typedSearchAttributes;
      assert.equal(atStart.get(LoopName), 'sa-started');
      assert.ok(atStart.get(LoopPhase), 'a phase from the start');
      await phaseIs(handle, 'awaiting-fix');
      const events = (await handle.fetchHistory()).events!;
      const asked = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'loopSearchAttributesRegistered');
      assert.equal(asked.length, 0);
      await eventually(async () => ((await handle.describe()).typedSearchAttributes.get(LoopPhase) === 'awaiting-fix' ? true : undefined), 'LoopPhase = awaiting-fix');
      await handle.cancel();
    });
  });

  it('on a server without them the loop keeps to the memo; `tdl list --phase` says to run `tdl setup`, which registers them', async function () {
    const env = await startTestServer([], undefined, false);
    try {
      await withWorker(env, async (w) => {
        const before = await loopAwaitingFix(env, w);
        const started = await runTdl(env, ['start', '--input', JSON.stringify(loopInput(stagingDir(), { name: 'sa-less' })), '--task-queue', w.taskQueue]);
        assert.equal(started.code, 0, `tdl start works without them too: ${started.stderr}`);
        const sideLoop = started.stdout.trim();
        await env.client.workflow.getHandle(sideLoop).terminate('not needed further');
        const memo = (await before.describe()).memo as { phase?: string; cycle?: number; time?: unknown };
        assert.deepEqual({ ...memo, time: undefined }, { phase: 'awaiting-fix', cycle: 1, time: undefined });
        assert.ok(memo.time, 'the memo carries the time so far');
        assert.equal((await before.describe()).typedSearchAttributes.get(LoopPhase), undefined);

        const listed = JSON.parse((await runTdl(env, ['list', '--json'])).stdout) as { workflowId: string; phase: string }[];
        assert.equal(listed.find((l) => l.workflowId === before.workflowId)?.phase, 'awaiting-fix', 'tdl list reads the memo');
        const filtered = await runTdl(env, ['list', '--phase', 'awaiting-fix']);
        assert.equal(filtered.code, 1);
        assert.match(filtered.stderr, /search attribute LoopPhase is not registered \(run `tdl setup`\)/);

        const setup = await runTdl(env, ['setup']);
        assert.equal(setup.code, 0, setup.stderr);
        assert.match(setup.stdout, /registered LoopPhase, LoopCycle, LoopName, WaitingFor/);
        assert.match((await runTdl(env, ['setup'])).stdout, /nothing to register; already there: LoopPhase/);

        // A loop started now finds them; the earlier one keeps its memo and still lists.
        const after = await loopAwaitingFix(env, w);
        await eventually(async () => ((await after.describe()).typedSearchAttributes.get(LoopPhase) === 'awaiting-fix' ? true : undefined), 'LoopPhase on the new loop');
        const both = await eventually(async () => {
          const r = await runTdl(env, ['list', '--json']);
          const loops = (JSON.parse(r.stdout) as { workflowId: string; phase: string }[]).filter((l) => l.workflowId !== sideLoop);
          return loops.length === 2 ? loops : undefined;
        }, 'both loops listed');
        assert.deepEqual(both.map((l) => l.phase), ['awaiting-fix', 'awaiting-fix']);
        await before.cancel();
        await after.cancel();
      });
    } finally {
      await env.teardown();
    }
  });
});
