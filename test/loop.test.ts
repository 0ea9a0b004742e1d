/**
 * The loop on a real Temporal dev server: a suite that fails the way the seed's did, a fix by signal
 * or update, one deploy, verification, a green suite.
 */
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import * as messages from '../src/workflows/messages';
import type { LoopResult } from '../src/workflows/loop';
import { deployCommand, deploys, loopInput, stagingDir, startHealthServer } from './support/loop-input';
import { eventually, phaseIs, workerPerTest } from './support/temporal';

describe('testDeployLoop on a real Temporal server', function () {
  const { start } = workerPerTest();

  it('fails like the seed, waits for a fix (signal), deploys it once, verifies, and passes', async function () {
    const staging = stagingDir();
    const health = await startHealthServer(200);
    try {
      const handle = await start(loopInput(staging, { verify: { url: health.url, timeout: '10s', interval: '1s' } }));
      const waiting = await phaseIs(handle, 'awaiting-fix');
      assert.equal(waiting.waitingFor, 'fix');
      assert.equal(waiting.cycle, 1);
      assert.deepEqual(
        { total: waiting.lastRun!.total, passed: waiting.lastRun!.passed, failed: waiting.lastRun!.failed },
        { total: 25, passed: 1, failed: 24 },
      );
      assert.equal(waiting.rootCauses.length, 1, 'the 24 failures are one root cause');
      assert.equal(waiting.rootCauses[0].count, 24);
      assert.ok(waiting.lastRun!.durationMs > 0);
      assert.ok(existsSync(fileURLToPath(waiting.cycles[0].reportPath!)), 'the full diagnosis report is on disk');

      await handle.signal(messages.fixCommitted, { commit: '176ad633b', summary: 'add jwt-auth subprotocol', author: 'fix-team' });
      const result: LoopResult = await handle.result();
      assert.equal(result.phase, 'passed');
      assert.equal(result.cycles, 2);
      assert.deepEqual(deploys(staging), ['176ad633b'], 'exactly one deploy of the fix');
      assert.ok(health.hits() >= 1, 'staging was verified after the deploy');

      const final = await handle.query(messages.status);
      assert.equal(final.phase, 'passed');
      assert.equal(final.waitingFor, null);
      assert.equal(final.cycles[0].fix!.commit, '176ad633b');
      assert.equal(final.cycles[0].verify!.healthy, true);
      assert.equal(final.lastRun!.failed, 0);
      const report = await handle.query(messages.report);
      assert.match(report, /passed/);
      assert.match(report, /176ad633b/);
      assert.equal(readFileSync(fileURLToPath(result.reportPath!), 'utf8'), report, 'the saved loop report is the report query');
    } finally {
      await health.close();
    }
  });

  it('takes a fix by the submitFix update and answers with the cycle', async function () {
    const staging = stagingDir();
    const handle = await start(loopInput(staging));
    await phaseIs(handle, 'awaiting-fix');
    const answer = await handle.executeUpdate(messages.submitFix, { args: [{ commit: 'abc123' }] });
    assert.deepEqual(answer, { accepted: true, cycle: 1 });
    const result: LoopResult = await handle.result();
    assert.equal(result.phase, 'passed');
    assert.deepEqual(deploys(staging), ['abc123']);
  });

  it('rejects an empty commit in submitFix and keeps waiting', async function () {
    const staging = stagingDir();
    const handle = await start(loopInput(staging));
    await phaseIs(handle, 'awaiting-fix');
    await assert.rejects(
      handle.executeUpdate(messages.submitFix, { args: [{ commit: '  ' }] }),
      (err: unknown) => err instanceof WorkflowUpdateFailedError && /commit/.test(err.cause?.message ?? ''),
    );
    const s = await handle.query(messages.status);
    assert.equal(s.phase, 'awaiting-fix');
    assert.equal(s.pendingFix, null);
    assert.deepEqual(deploys(staging), []);
    await handle.cancel();
  });

  it('gives up after maxCycles', async function () {
    const staging = stagingDir();
    const handle = await start(loopInput(staging, { maxCycles: 2 }));
    await phaseIs(handle, 'awaiting-fix');
    await handle.signal(messages.retest, { reason: 'flake?' });
    const result: LoopResult = await handle.result();
    assert.equal(result.phase, 'gave-up');
    assert.equal(result.cycles, 2);
    assert.match(result.reason!, /after 2 cycles/);
    assert.deepEqual(deploys(staging), []);
  });

  it('a retest runs the suite again without a deploy', async function () {
    const staging = stagingDir();
    const handle = await start(loopInput(staging));
    await phaseIs(handle, 'awaiting-fix');
    await handle.signal(messages.retest, { reason: 'staging was restarted' });
    const s = await eventually(async () => {
      const st = await handle.query(messages.status);
      return st.cycle === 2 && st.phase === 'awaiting-fix' ? st : undefined;
    }, 'cycle 2 awaiting a fix');
    assert.match(s.cycles[0].outcome!, /staging was restarted/);
    assert.deepEqual(deploys(staging), []);
    await handle.cancel();
  });

  it('reruns only the failed tests when suite.rerunFailed is set, and counts those that pass as flaky', async function () {
    const staging = stagingDir();
    const input = loopInput(staging);
    (input.suite as Record<string, unknown>).rerunFailed = (input.suite as { command: string }).command;
    const handle = await start(input);
    const s = await phaseIs(handle, 'awaiting-fix');
    // Of the 24 failures, the 11 even-numbered ones pass on the rerun.
    assert.deepEqual({ flaky: s.lastRun!.flaky, failed: s.lastRun!.failed, passed: s.lastRun!.passed }, { flaky: 11, failed: 13, passed: 1 });
    assert.equal(s.rootCauses.reduce((n, r) => n + r.count, 0), 13, 'root causes are the tests still failing');
    await handle.cancel();
  });

  it('sends a fix whose deploy fails back to the fix team with the evidence, then takes the next one', async function () {
    const staging = stagingDir();
    const deploy = `if [ "$COMMIT" = broken ]; then echo "build failed: Cannot find module './ws-auth'" >&2; exit 3; fi; ${deployCommand(staging)}`;
    const handle = await start(loopInput(staging, { deploy: { kind: 'command', command: deploy, timeout: '1m' } }));
    await phaseIs(handle, 'awaiting-fix');
    await handle.executeUpdate(messages.submitFix, { args: [{ commit: 'broken' }] });
    const back = await eventually(async () => {
      const st = await handle.query(messages.status);
      return st.phase === 'awaiting-fix' && st.cycles[0].deploy?.error ? st : undefined;
    }, 'the fix team to get it back');
    assert.match(back.reason!, /deploy of broken failed: deploy\.command exited with code 3 for commit broken: build failed: Cannot find module/);
    assert.equal(back.pendingFix, null);
    await handle.executeUpdate(messages.submitFix, { args: [{ commit: 'good' }] });
    const result: LoopResult = await handle.result();
    assert.equal(result.phase, 'passed');
    assert.deepEqual(deploys(staging), ['good']);
  });

  it('keeps a fix that arrives while another is being deployed, and ships it next', async function () {
    const staging = stagingDir();
    // The first fix deploys slowly and does not make the suite pass; the second does.
    const deploy = `echo "$COMMIT" >> '${staging}/deploys.log'; if [ "$COMMIT" = first ]; then sleep 1; else echo "$COMMIT" > '${staging}/deployed'; fi`;
    const handle = await start(loopInput(staging, { deploy: { kind: 'command', command: deploy, timeout: '1m' } }));
    await phaseIs(handle, 'awaiting-fix');
    await handle.signal(messages.fixCommitted, { commit: 'first' });
    await phaseIs(handle, 'deploying');
    await handle.signal(messages.fixCommitted, { commit: 'second' });
    const result: LoopResult = await handle.result();
    assert.equal(result.phase, 'passed');
    assert.equal(result.cycles, 3);
    assert.deepEqual(deploys(staging), ['first', 'second']);
  });
});
