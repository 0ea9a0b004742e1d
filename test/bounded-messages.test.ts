/**
 * Messages are bounded before they enter history, on a real dev server: a commit that could never
 * deploy is refused (by `tdl fix`, by the submitFix validator) or ignored (a signal cannot be
 * refused), over-long text is refused by the update and cut by the signals, and the loop, its
 * `status` and its report stay small enough to go on and end normally.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import * as messages from '../src/workflows/messages';
import type { LoopResult } from '../src/workflows/loop';
import type { LoopStatus } from '../src/workflows/state';
import { deployCommand, deploys, loopInput, stagingDir } from './support/loop-input';
import { eventually, phaseIs, TDL, workerPerTest } from './support/temporal';

const KB = 1024;
const MB_SUMMARY = 'a long summary, pasted with its whole build log. '.repeat(25_000); // ~1.2 MB

function tdl(address: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [TDL, ...args], { env: { ...process.env, TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: 'default' } }, (err, stdout, stderr) =>
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function rejection(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => assert.fail('the update should be rejected'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
  return err.cause?.message ?? '';
}

/** Waits until the fix team has `commit` back (its deploy failed), and checks the status's size on the way. */
async function backToFixAfter(handle: WorkflowHandle, commit: string): Promise<LoopStatus> {
  return eventually(async () => {
    const s = await handle.query(messages.status);
    assert.ok(Buffer.byteLength(JSON.stringify(s)) < 64 * KB, 'status stays small');
    return s.phase === 'awaiting-fix' && s.cycles[s.cycles.length - 1].deploy?.commit === commit ? s : undefined;
  }, `${commit} to come back to the fix team`);
}

describe('bounded fix messages on a real Temporal server', function () {
  const { start, env } = workerPerTest();

  it('refuses a commit that could never deploy: tdl fix exits 1 with the reason, the update is rejected, the signal ignored', async function () {
    const staging = stagingDir();
    const handle = await start(loopInput(staging));
    await phaseIs(handle, 'awaiting-fix');

    const cli = await tdl(env().address, 'fix', handle.workflowId, '--commit', 'abc def');
    assert.equal(cli.code, 1, cli.stderr);
    assert.match(cli.stdout, /^fix rejected: commit: "abc def" is not a commit SHA or image tag/);

    assert.match(await rejection(handle.executeUpdate(messages.submitFix, { args: [{ commit: 'abc def' }] })), /commit: "abc def" is not a commit SHA/);
    assert.match(
      await rejection(handle.executeUpdate(messages.submitFix, { args: [{ commit: 'abc123', summary: MB_SUMMARY }] })),
      /^summary: \d{7} characters, at most 2000/,
    );
    assert.match(await rejection(handle.executeUpdate(messages.submitFix, { args: [{ commit: 'abc123', author: 'x'.repeat(201) }] })), /^author: 201 characters/);

    await handle.signal(messages.fixCommitted, { commit: 'abc def' });
    await handle.signal(messages.fixCommitted, { commit: '$(reboot)' });
    // A signal sent after them is handled after them: once it has, they were ignored.
    await handle.signal(messages.retest, { reason: 'after the bad fixes' });
    const s = await eventually(async () => {
      const st = await handle.query(messages.status);
      return st.cycle === 2 && st.phase === 'awaiting-fix' ? st : undefined;
    }, 'the retest');
    assert.equal(s.cycles[0].fix, null, 'no bad fix was taken');
    assert.equal(s.pendingFix, null);
    assert.deepEqual(deploys(staging), [], 'nothing was deployed');

    const history = await handle.fetchHistory();
    const updates = history.events!.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    assert.equal(updates.length, 0, 'a rejected update never enters history');
    await handle.cancel();
  });

  it('goes on and ends normally after fixes at the summary limit and signals with 1.2 MB summaries and reasons', async function () {
    const staging = stagingDir();
    const deploy = `case "$COMMIT" in broken*) echo "build failed for $COMMIT" >&2; exit 3;; esac; ${deployCommand(staging)}`;
    const handle = await start(loopInput(staging, { deploy: { kind: 'command', command: deploy, timeout: '1m' } }));
    await phaseIs(handle, 'awaiting-fix');

    await handle.signal(messages.retest, { reason: MB_SUMMARY });
    await eventually(async () => {
      const st = await handle.query(messages.status);
      return st.cycle === 2 && st.phase === 'awaiting-fix' ? st : undefined;
    }, 'cycle 2');

    const atLimit = { summary: 's'.repeat(messages.MESSAGE_LIMITS.summary), author: 'a'.repeat(messages.MESSAGE_LIMITS.author) };
    assert.deepEqual(await handle.executeUpdate(messages.submitFix, { args: [{ commit: 'broken-1', ...atLimit }] }), { accepted: true, cycle: 2 });
    await backToFixAfter(handle, 'broken-1');
    await handle.signal(messages.fixCommitted, { commit: 'broken-2', summary: MB_SUMMARY, author: 'x'.repeat(300_000) });
    const back = await backToFixAfter(handle, 'broken-2');
    const fix = back.cycles[1].fix!;
    assert.ok(fix.summary!.length <= messages.MESSAGE_LIMITS.summary && fix.author!.length <= messages.MESSAGE_LIMITS.author);
    assert.match(fix.summary!, /\[truncated from \d{7} characters\]$/);
    await handle.signal(messages.infraRestored, { note: MB_SUMMARY }); // nothing blocked: no effect, and no harm
    assert.deepEqual(await handle.executeUpdate(messages.submitFix, { args: [{ commit: 'good', ...atLimit }] }), { accepted: true, cycle: 2 });

    const result: LoopResult = await handle.result();
    assert.equal(result.phase, 'passed');
    assert.equal(result.cycles, 3);
    assert.deepEqual(deploys(staging), ['good']);

    const final = await handle.query(messages.status);
    const report = await handle.query(messages.report);
    assert.ok(Buffer.byteLength(JSON.stringify(final)) < 64 * KB, 'status stays small');
    assert.ok(Buffer.byteLength(report) < 64 * KB, 'the report stays small');
    assert.match(final.cycles[0].outcome!, /^retest: a long summary.*\[truncated from \d{7} characters\]$/);
    const history = await handle.fetchHistory();
    const failedTasks = history.events!.filter((e) => e.workflowTaskFailedEventAttributes);
    assert.equal(failedTasks.length, 0, 'no workflow task failed');
  });
});
