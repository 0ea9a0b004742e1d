/**
 * What must survive: a worker killed with SIGKILL while the loop waits, cancellation of a running
 * suite, and bad input that must end the loop at once without harming the worker.
 */
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import * as messages from '../src/workflows/messages';
import type { LoopResult } from '../src/workflows/loop';
import type { LoopStatus } from '../src/workflows/state';
import { deploys, loopInput, stagingDir } from './support/loop-input';
import { eventually, killHard, spawnWorker, tempDir, testEnv, workerPerTest } from './support/temporal';

function waitFor(handle: WorkflowHandle, pred: (s: LoopStatus) => boolean, what: string): Promise<LoopStatus> {
  return eventually(async () => {
    const s = await handle.query(messages.status);
    return pred(s) ? s : undefined;
  }, what);
}

/** Running, not a zombie waiting for a parent that does not reap it (PID 1 in a container may not). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The workflow's failure: its cause, as a typed ApplicationFailure. */
async function loopFailure(handle: WorkflowHandle): Promise<ApplicationFailure> {
  const err = await handle.result().then(
    () => assert.fail('the loop should have failed'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError, `expected WorkflowFailedError, got ${err}`);
  assert.ok(err.cause instanceof ApplicationFailure, `expected an ApplicationFailure, got ${err.cause}`);
  return err.cause;
}

describe('durability', function () {
  let env: TestWorkflowEnvironment;

  before(async function () {
    env = await testEnv();
  });

  it('a worker killed with SIGKILL while the loop waits: a new worker finishes it with one deploy', async function () {
    const taskQueue = `tdl-kill-${randomUUID()}`;
    const reportsDir = tempDir('tdl-reports-');
    const startWorker = () => spawnWorker(env, taskQueue, reportsDir);
    const staging = stagingDir();
    let worker = startWorker();
    try {
      const handle = await env.client.workflow.start(messages.WORKFLOW_TYPE, {
        taskQueue,
        workflowId: `kill-${randomUUID()}`,
        args: [loopInput(staging)],
      });
      await waitFor(handle, (s) => s.phase === 'awaiting-fix', 'awaiting-fix');
      await killHard(worker);

      await handle.signal(messages.fixCommitted, { commit: 'f1x' });
      worker = startWorker();
      const result: LoopResult = await handle.result();
      assert.equal(result.phase, 'passed');
      assert.deepEqual(deploys(staging), ['f1x'], 'exactly one deploy of the fix');
      assert.ok(fileURLToPath(result.reportPath!).startsWith(reportsDir));
    } finally {
      worker.kill('SIGTERM');
    }
  });

  describe('with an in-process worker', function () {
    const { start, current } = workerPerTest();

    it('cancellation kills the running suite and leaves a report', async function () {
      const staging = stagingDir();
      const input = loopInput(staging);
      (input.suite as { env: Record<string, string> }).env.SUITE_SLEEP_MS = '60000';
      const handle = await start(input);
      const pid = await eventually(async () => {
        const p = join(staging, 'suite.pid');
        return existsSync(p) ? Number(readFileSync(p, 'utf8')) : undefined;
      }, 'the suite to start');
      assert.ok(alive(pid));
      await handle.cancel();
      const err = await handle.result().then(
        () => assert.fail('a cancelled loop does not succeed'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure, `expected cancellation, got ${err}`);
      assert.ok(!alive(pid), 'the suite process was killed');
      const s = await handle.query(messages.status);
      assert.equal(s.phase, 'cancelled');
      const report = readFileSync(join(current().reportsDir, handle.workflowId, 'loop-report.md'), 'utf8');
      assert.match(report, /cancelled/);
    });

    const badInputs: [string, (staging: string) => unknown, string, RegExp][] = [
      ['a missing suite.command', () => ({ suite: {} }), 'BadInput', /suite\.command: is required/],
      ['an unknown deploy.kind', (d) => loopInput(d, { deploy: { kind: 'ftp' } }), 'BadInput', /deploy\.kind: must be one of/],
      ['a bad duration', (d) => loopInput(d, { infra: { recheckEvery: 'every now and then' } }), 'BadInput', /infra\.recheckEvery: must be a duration/],
      // Every pattern-checked field at once: the schema is shared by the loops of a worker, in modules whose exports the sandbox freezes.
      [
        'bad names and endpoints in every field checked by a pattern',
        () => ({
          suite: { use: 'no such!', env: { OK: '1' }, timeout: '5m' },
          deploy: { kind: 'cloud-run', project: 'p', region: 'r', service: 's', image: 'i', endpoint: 'not host:port', logsEndpoint: 'nope', timeout: '5m' },
          verify: { timeout: '1m', interval: '5s' },
          probes: { websocket: { url: 'ws://127.0.0.1:9/ws', tokenEnv: '1BAD' }, jwt: { tokenEnv: 'ALSO BAD' } },
          handoff: { webhookUrlEnv: 'bad-name', use: 'x y', remindEvery: '4h' },
          infra: { recheckEvery: '5m', giveUpAfter: '24h' },
        }),
        'BadInput',
        /suite\.use: must be a name from the worker's command policy/,
      ],
      ['a bad deploy.use', (d) => loopInput(d, { deploy: { kind: 'command', use: 'ship it' } }), 'BadInput', /deploy\.use: must be a name from the worker's command policy/],
      ['a suite command that does not exist', (d) => loopInput(d, { suite: { command: 'no-such-test-runner --all' } }), 'SuiteNotRunnable', /command not found/],
      ['a suite that writes no JUnit file', (d) => loopInput(d, { suite: { command: 'echo ran; exit 1' } }), 'NoJUnitReport', /no JUnit XML report at .*junit\.xml.*exited with code 1.*ran/s],
    ];
    for (const [what, input, type, message] of badInputs) {
      it(`ends at once, with a clear error, for ${what}`, async function () {
        const handle = await start(input(stagingDir()));
        const failure = await loopFailure(handle);
        assert.equal(failure.type, type);
        assert.match(failure.message, message);
        // Never retried: the suite ran once at most.
        const history = await handle.fetchHistory();
        const retried = history.events!.some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
        assert.ok(!retried, 'the failing step was not retried');
        // The worker is unharmed: it serves the next loop.
        const next = await start(loopInput(stagingDir()));
        await waitFor(next, (s) => s.phase === 'awaiting-fix', 'the next loop to run');
        await next.cancel();
      });
    }
  });
});
