/**
 * handoff.agentTimeout in real durations on the time-skipping server: an agent that answers nothing
 * is escalated to people once; the loop keeps waiting and still takes a fix.
 */
import assert from 'node:assert/strict';
import * as messages from '../../src/workflows/messages';
import type { LoopResult } from '../../src/workflows/loop';
import { deploys, loopInput, stagingDir } from '../support/loop-input';
import { eventually, phaseIs, startTimeSkippingServer, workerPerTest } from '../support/temporal';
import { startWebhookReceiver } from '../support/webhook';

describe('handoff.agentTimeout, on the time-skipping server', function () {
  const { start, env } = workerPerTest(startTimeSkippingServer);

  it('escalates an agent silent for 2 h to a person, once, and still deploys the fix that comes later', async function () {
    const hooks = await startWebhookReceiver();
    try {
      const staging = stagingDir();
      const handle = await start(loopInput(staging, { handoff: { webhookUrl: hooks.url, agentTimeout: '2h', remindEvery: '4h' } }));
      await phaseIs(handle, 'awaiting-fix');
      await eventually(async () => (hooks.received.length === 1 ? true : undefined), 'the hand-off');
      assert.equal(hooks.received[0].needsPerson, false);
      await env().sleep('5 hours');
      const asked = await eventually(async () => hooks.received.filter((h) => h.needsPerson === true), 'the escalation');
      assert.equal(asked.length, 1, 'escalated once, not at every wake-up');
      assert.match(String(asked[0].text), /netra-staging needs a person: no fix, cannotFix or retest within handoff\.agentTimeout \(2h\)/);
      const s = await handle.query(messages.status);
      assert.deepEqual([s.phase, s.waitingFor, s.cycles[0].escalation?.kind], ['awaiting-fix', 'people', 'agent-timeout']);
      assert.ok(hooks.received.some((h) => /^Reminder: netra-staging is still waiting for a person/.test(String(h.text))), 'reminders say who is awaited');

      await handle.executeUpdate(messages.submitFix, { args: [{ commit: 'abc123', author: 'Dana' }] });
      const result: LoopResult = await handle.result();
      assert.equal(result.phase, 'passed');
      assert.deepEqual(deploys(staging), ['abc123']);
    } finally {
      await hooks.close();
    }
  });
});
