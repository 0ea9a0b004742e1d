/**
 * The long waits, in the durations real loops use (reminders every 4 h, giving up after 24 h, a fix
 * after 3 days), on Temporal's time-skipping test server: timers fire in virtual time, while the
 * suite, deploys, health checks and webhooks are real processes and servers on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import * as messages from '../src/workflows/messages';
import type { LoopResult } from '../src/workflows/loop';
import { deploys, loopInput, stagingDir, startHealthServer } from './support/loop-input';
import { eventually, phaseIs, startTimeSkippingServer, workerPerTest } from './support/temporal';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const texts = (hooks: WebhookReceiver, audience: string) => hooks.received.filter((h) => h.audience === audience).map((h) => String(h.text));
const reminders = (hooks: WebhookReceiver, audience: string) => texts(hooks, audience).filter((t) => t.startsWith('Reminder: '));

describe('the long waits, on the time-skipping server', function () {
  const { start, env } = workerPerTest(startTimeSkippingServer);
  let hooks: WebhookReceiver;
  let staging: string;

  beforeEach(async function () {
    hooks = await startWebhookReceiver();
    staging = stagingDir();
  });
  afterEach(async function () {
    await hooks.close();
  });

  /** A loop waiting for its fix team, told once. */
  async function waitingForFix(input: Record<string, unknown>): Promise<WorkflowHandle> {
    const handle = await start(input);
    await phaseIs(handle, 'awaiting-fix');
    await eventually(async () => (texts(hooks, 'fix-team').length === 1 ? true : undefined), 'the hand-off');
    return handle;
  }

  it('reminds the fix team every 4 h while it waits two days', async function () {
    const handle = await waitingForFix(loopInput(staging, { handoff: { webhookUrl: hooks.url, remindEvery: '4h' } }));
    const started = await env().currentTimeMs();
    await env().sleep('2 days');
    await eventually(async () => (reminders(hooks, 'fix-team').length >= 12 ? true : undefined), 'twelve reminders');
    assert.ok((await env().currentTimeMs()) - started >= 2 * DAY);
    assert.equal(reminders(hooks, 'fix-team').length, 12, 'one every 4 h: 12 in two days');
    assert.match(reminders(hooks, 'fix-team')[0], /^Reminder: netra-staging is still waiting for a fix/);
    assert.deepEqual(texts(hooks, 'infra-team'), []);

    const s = await handle.query(messages.status);
    assert.deepEqual({ phase: s.phase, cycle: s.cycle, waitingFor: s.waitingFor }, { phase: 'awaiting-fix', cycle: 1, waitingFor: 'fix' });
    // A durable wait costs a few events per reminder (timer, notify activity), not a poll.
    const events = (await handle.fetchHistory()).events!.length;
    assert.ok(events < 12 * 12 + 60, `history has ${events} events`);
    // Ended before the next test: a loop left with a workflow task and no worker would stop the clock for all.
    await handle.cancel();
    await handle.result().catch(() => undefined);
  });

  it('gives up when infrastructure is not back within infra.giveUpAfter (24 h)', async function () {
    const health = await startHealthServer(503);
    try {
      const handle = await waitingForFix(
        loopInput(staging, {
          verify: { url: health.url, timeout: '2s', interval: '1s' },
          handoff: { webhookUrl: hooks.url, remindEvery: '4h' },
          infra: { recheckEvery: '1h', giveUpAfter: '24h' },
        }),
      );
      await handle.executeUpdate(messages.submitFix, { args: [{ commit: '176ad633b' }] });
      await phaseIs(handle, 'blocked-infra');

      const result: LoopResult = await handle.result(); // time runs until the loop ends
      assert.equal(result.phase, 'gave-up');
      assert.equal(result.reason, 'infrastructure not restored within 24h');
      const s = await handle.query(messages.status);
      const block = s.cycles[0].infra!;
      // In the workflow's own (virtual) time: from the block to the end.
      const waited = Date.parse(s.updatedAt) - Date.parse(block.since);
      assert.ok(waited >= 24 * HOUR && waited < 25 * HOUR, `gave up after ${(waited / HOUR).toFixed(2)} h`);
      assert.equal(block.restoredAt, null);
      assert.ok(block.rechecks >= 23 && block.rechecks <= 24, `${block.rechecks} hourly rechecks`);
      assert.ok(health.hits() >= block.rechecks, 'each recheck asked staging');
      assert.match(texts(hooks, 'infra-team')[0], /staging infrastructure is down/);
      assert.equal(reminders(hooks, 'infra-team').length, 6, 'the infrastructure team was reminded every 4 h');
      assert.deepEqual(deploys(staging), ['176ad633b'], 'deployed once, never again while blocked');
    } finally {
      await health.close();
    }
  });

  it('deploys and verifies a fix that arrives after 3 days', async function () {
    const health = await startHealthServer(200);
    try {
      const handle = await waitingForFix(
        loopInput(staging, {
          verify: { url: health.url, timeout: '10s', interval: '1s' },
          handoff: { webhookUrl: hooks.url, remindEvery: '4h' },
        }),
      );
      await env().sleep('3 days');
      await eventually(async () => (reminders(hooks, 'fix-team').length >= 18 ? true : undefined), 'eighteen reminders');

      assert.deepEqual(await handle.executeUpdate(messages.submitFix, { args: [{ commit: '176ad633b', summary: 'add jwt-auth subprotocol' }] }), {
        accepted: true,
        cycle: 1,
      });
      const result: LoopResult = await handle.result();
      assert.equal(result.phase, 'passed');
      assert.equal(result.cycles, 2);
      assert.deepEqual(deploys(staging), ['176ad633b']);
      const s = await handle.query(messages.status);
      const first = s.cycles[0];
      assert.equal(first.verify!.healthy, true, 'verified after the deploy');
      assert.ok(Date.parse(first.fix!.receivedAt) - Date.parse(first.startedAt) >= 3 * DAY, 'the fix arrived three days into the cycle');
      assert.equal(reminders(hooks, 'fix-team').length, 18, 'reminded every 4 h, and not after the fix');
    } finally {
      await health.close();
    }
  });
});
