/**
 * The `tdl` binary and the `temporal` CLI, as real processes, against a real dev server: what a
 * script or a CI job does with a loop.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ensureTemporalCli } from '../src/devserver/temporal-cli';
import type { LoopStatus } from '../src/workflows/state';
import { deploys, loopInput, stagingDir } from './support/loop-input';
import { createTestWorker, eventually, freePort, TDL, tempDir, testEnv, type TestWorker } from './support/temporal';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const run = (file: string, args: string[], env: Record<string, string | undefined>): Promise<Run> =>
  new Promise((done) => {
    execFile(file, args, { env: { ...process.env, ...env } }, (err, stdout, stderr) =>
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });

describe('the tdl command line', function () {
  let env: TestWorkflowEnvironment;
  let w: TestWorker;
  let running: Promise<void>;

  const connected = (file: string, args: string[]) =>
    run(file, args, { TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: 'default', TDL_TASK_QUEUE: w.taskQueue });
  const tdl = (...args: string[]) => connected(process.execPath, [TDL, ...args]);

  before(async function () {
    env = await testEnv();
    w = await createTestWorker(env);
    running = w.worker.run();
  });

  after(async function () {
    w.worker.shutdown();
    await running;
  });

  it('rejects bad usage and bad input with exit code 2, naming what is wrong', async function () {
    const noCommand = await tdl('start', '--input', '{"suite":{}}');
    assert.equal(noCommand.code, 2);
    assert.match(noCommand.stderr, /suite\.command: is required/);

    const missing = await tdl('start', '--config', '/nonexistent/loop.json');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--config \/nonexistent\/loop\.json: cannot read the file \(ENOENT\)/);

    const notJson = await tdl('start', '--input', '{suite:');
    assert.equal(notJson.code, 2);
    assert.match(notJson.stderr, /--input: not valid JSON/);

    const unknown = await tdl('deploy-everything');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "deploy-everything"/);

    const noId = await tdl('status');
    assert.equal(noId.code, 2);
    assert.match(noId.stderr, /status takes one workflow id/);
  });

  it('starts a loop, shows its status, takes a fix, and reports', async function () {
    const staging = stagingDir();
    const config = join(tempDir(), 'loop.json');
    writeFileSync(config, JSON.stringify(loopInput(staging)));
    const id = `cli-${randomUUID()}`;

    const started = await tdl('start', '--config', config, '--workflow-id', id);
    assert.equal(started.code, 0, started.stderr);
    assert.equal(started.stdout.trim(), id);

    const waiting = await eventually(async () => {
      const r = await tdl('status', id, '--json');
      const s = JSON.parse(r.stdout) as LoopStatus;
      return s.phase === 'awaiting-fix' ? s : undefined;
    }, 'awaiting-fix');
    assert.equal(waiting.waitingFor, 'fix');
    assert.equal(waiting.lastRun!.failed, 24);

    const human = await tdl('status', id);
    assert.equal(human.code, 0);
    assert.match(human.stdout, /phase: +awaiting-fix, waiting for fix/);
    assert.match(human.stdout, /24 ×/);

    const listed = await tdl('list', '--json');
    const loops = JSON.parse(listed.stdout) as { workflowId: string; phase: string; cycle: number }[];
    const mine = loops.find((l) => l.workflowId === id);
    assert.deepEqual({ phase: mine?.phase, cycle: mine?.cycle }, { phase: 'awaiting-fix', cycle: 1 });

    const signalled = await tdl('infra-restored', id, '--note', 'not blocked, no effect', '--json');
    assert.equal(signalled.code, 0, signalled.stderr);
    assert.deepEqual(JSON.parse(signalled.stdout), { sent: 'infraRestored', workflowId: id });

    const rejected = await tdl('fix', id, '--commit', ' ');
    assert.equal(rejected.code, 1);
    assert.match(rejected.stdout, /fix rejected: commit: must be a non-empty commit SHA/);

    const fixed = await tdl('fix', id, '--commit', '176ad633b', '--summary', 'add jwt-auth subprotocol', '--author', 'ci');
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.match(fixed.stdout, /fix 176ad633b accepted for cycle 1/);

    const watched = await tdl('status', id, '--watch');
    assert.equal(watched.code, 0);
    assert.match(watched.stdout, /phase: +passed/);
    assert.deepEqual(deploys(staging), ['176ad633b']);

    const report = await tdl('report', id);
    assert.match(report.stdout, /^# netra-staging: cycle 2/);
    assert.match(report.stdout, /\*\*Fix\*\*: `176ad633b` add jwt-auth subprotocol \(ci\)/);

    const late = await tdl('fix', id, '--commit', 'abc');
    assert.equal(late.code, 1, 'a fix for an ended loop is rejected');
  });

  it('answers the temporal CLI too: signal fixCommitted, query status', async function () {
    const staging = stagingDir();
    const id = `temporal-cli-${randomUUID()}`;
    assert.equal((await tdl('start', '--input', JSON.stringify(loopInput(staging)), '--workflow-id', id)).code, 0);
    const temporal = ensureTemporalCli();
    await eventually(async () => {
      const q = await connected(temporal, ['workflow', 'query', '--workflow-id', id, '--name', 'status', '-o', 'json']);
      const s = (JSON.parse(q.stdout) as { queryResult: LoopStatus[] }).queryResult[0];
      return s.phase === 'awaiting-fix' ? s : undefined;
    }, 'awaiting-fix through the temporal CLI');
    const signalled = await connected(temporal, ['workflow', 'signal', '--workflow-id', id, '--name', 'fixCommitted', '-i', '{"commit":"deadbeef"}']);
    assert.equal(signalled.code, 0, signalled.stderr);
    const result = await connected(temporal, ['workflow', 'result', '--workflow-id', id, '-o', 'json']);
    const parsed = JSON.parse(result.stdout) as { status: string; result: { phase: string } };
    assert.equal(parsed.status, 'COMPLETED');
    assert.equal(parsed.result.phase, 'passed');
    assert.deepEqual(deploys(staging), ['deadbeef']);
  });

  it('says plainly when a loop does not exist', async function () {
    const r = await tdl('retest', 'no-such-loop');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no loop with workflow id no-such-loop/);
  });
});

describe('tdl without a Temporal server', function () {
  /** Nothing listens on `address`: every command that needs Temporal meets a closed port. */
  let address: string;
  const tdl = (...args: string[]) => run(process.execPath, [TDL, ...args], { TEMPORAL_ADDRESS: address, TDL_LOG_LEVEL: 'WARN' });

  before(async function () {
    address = `127.0.0.1:${await freePort()}`;
  });

  it('says the same thing for every command that cannot reach Temporal, exit code 1', async function () {
    const input = JSON.stringify({ suite: { command: 'true' } });
    const commands = [['dev'], ['worker'], ['start', '--input', input], ['fix', 'x', '--commit', 'abc'], ['infra-restored', 'x'], ['retest', 'x'], ['status', 'x'], ['report', 'x'], ['list']];
    // Side by side: the client's connection gives up after its 10 s deadline.
    const runs = await Promise.all(commands.map((args) => tdl(...args)));
    const escaped = address.replace(/\./g, '\\.');
    runs.forEach((r, i) => {
      const name = commands[i][0];
      assert.equal(r.code, 1, `${name}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^tdl ${name}: cannot reach Temporal at ${escaped}: [^\\n]+\\. Run \`tdl dev\` or set TEMPORAL_ADDRESS\\.\\n$`), name);
      assert.doesNotMatch(r.stderr, /tonic|transport::Error/, name);
    });
  });

  it('stops quietly when its reader closes the pipe early (tdl --help | head -1)', async () => {
    const piped = await run('/bin/sh', ['-c', `"${process.execPath}" "${TDL}" --help | head -c 1 >/dev/null`], {});
    assert.equal(piped.code, 0);
    assert.doesNotMatch(piped.stderr, /EPIPE|Unhandled/);
  });

  it('builds tdl --help and tdl <command> --help from the declarations', async function () {
    const help = await tdl('--help');
    assert.equal(help.code, 0);
    for (const name of ['dev', 'worker', 'start', 'fix', 'infra-restored', 'retest', 'status', 'report', 'list', 'diagnose', 'schema']) {
      assert.match(help.stdout, new RegExp(`^  ${name} `, 'm'), name);
      const own = await tdl(name, '--help');
      assert.equal(own.code, 0, name);
      assert.match(own.stdout, new RegExp(`^Usage: tdl ${name}`), name);
      assert.match(own.stdout, /\nExamples:\n {2}tdl /, name);
    }
    assert.match((await tdl('fix', '--help')).stdout, /--commit <sha>[\s\S]*--summary <text>[\s\S]*--author <name>[\s\S]*--json/);
    assert.match((await tdl('status', '--help')).stdout, /Usage: tdl status ID \[--json\] \[--watch\]/);

    const bare = await tdl();
    assert.equal(bare.code, 2, 'no command is bad usage');
    assert.match(bare.stderr, /^Usage: tdl <command>/);
    const badOption = await tdl('list', '--limit', '0');
    assert.equal(badOption.code, 2);
    assert.match(badOption.stderr, /^tdl list: --limit takes a whole number of at least 1 \(got "0"\)\nusage: tdl list \[--phase PHASE\] \[--json\] \[--limit N\]/);
  });
});
