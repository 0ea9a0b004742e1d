/**
 * Schedules: `tdl schedule create|list|delete` on a real dev server; a due run while the schedule's
 * previous loop still runs is skipped.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import * as messages from '../src/workflows/messages';
import { loopInput, stagingDir } from './support/loop-input';
import { runTdl } from './support/tdl-process';
import { createTestWorker, eventually, phaseIs, tempDir, testEnv } from './support/temporal';

interface Listed {
  scheduleId: string;
  name: string;
  cron: string[];
  nextRuns: string[];
  recentLoops: string[];
}

describe('schedules', function () {
  it('create runs loops on a cron with overlap SKIP; list shows them; delete removes them', async function () {
    const env = await testEnv();
    const w = await createTestWorker(env);
    const running = w.worker.run();
    const id = `nightly-${randomUUID().slice(0, 8)}`;
    try {
      const config = join(tempDir(), 'loop.json');
      writeFileSync(config, JSON.stringify(loopInput(stagingDir(), { name: 'nightly-staging' })));
      const q = { TDL_TASK_QUEUE: w.taskQueue };

      const noCron = await runTdl(env, ['schedule', 'create', id, '--config', config], q);
      assert.equal(noCron.code, 2);
      assert.match(noCron.stderr, /--cron EXPR/);
      const badAction = await runTdl(env, ['schedule', 'pause', id]);
      assert.equal(badAction.code, 2);
      assert.match(badAction.stderr, /schedule takes create, list or delete \(got "pause"\)/);

      const created = await runTdl(env, ['schedule', 'create', id, '--cron', '0 2 * * *', '--config', config], q);
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, new RegExp(`schedule ${id} created: nightly-staging on 0 2 \\* \\* \\*, next run \\d{4}-\\d\\d-\\d\\dT02:00:00`));
      assert.equal((await runTdl(env, ['schedule', 'create', id, '--cron', '0 2 * * *', '--config', config], q)).code, 1, 'an existing id is refused');

      const handle = env.client.schedule.getHandle(id);
      const described = await handle.describe();
      assert.equal(described.policies.overlap, ScheduleOverlapPolicy.SKIP);
      assert.equal(described.action.type === 'startWorkflow' && described.action.taskQueue, w.taskQueue);

      // Two due runs (a trigger defaults to ALLOW_ALL: given the schedule's own policy, it acts as a
      // due run would): the first loop waits for a fix, so the second is skipped.
      await handle.trigger(described.policies.overlap);
      const first = await eventually(async () => (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId, 'the first loop');
      assert.ok(first.startsWith(`${id}-`));
      const loop = env.client.workflow.getHandle(first);
      await phaseIs(loop, 'awaiting-fix');
      await handle.trigger(described.policies.overlap);
      await new Promise((r) => setTimeout(r, 1500));
      const info = (await handle.describe()).info;
      assert.equal(info.recentActions.length, 1, 'no second loop while the first runs');
      assert.ok(info.numActionsSkippedOverlap >= 1);

      const listed = await eventually(async () => {
        const r = await runTdl(env, ['schedule', 'list', '--json']);
        return (JSON.parse(r.stdout) as Listed[]).find((s) => s.scheduleId === id);
      }, 'the schedule in tdl schedule list');
      assert.deepEqual([listed.name, listed.cron, listed.recentLoops], ['nightly-staging', ['0 2 * * *'], [first]]);
      assert.match((await runTdl(env, ['schedule', 'list'])).stdout, new RegExp(`${id}\\s+nightly-staging\\s+0 2 \\* \\* \\*`));

      const deleted = await runTdl(env, ['schedule', 'delete', id]);
      assert.equal(deleted.code, 0, deleted.stderr);
      const again = await runTdl(env, ['schedule', 'delete', id]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, new RegExp(`no schedule with id ${id}`));
      await loop.signal(messages.fixCommitted, { commit: 'abc1234' });
      assert.equal((await loop.result()).phase, 'passed', 'a loop outlives its deleted schedule');
    } finally {
      await env.client.schedule.getHandle(id).delete().catch(() => undefined);
      w.worker.shutdown();
      await running;
    }
  });
});
