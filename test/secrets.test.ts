/**
 * A suite that leaks its token into output and failure messages: the token reaches none of the
 * loop's outputs (workflow history, status, report, report files, suite log, notifications); it
 * shows only as its fingerprint.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import * as messages from '../src/workflows/messages';
import { loopInput, stagingDir } from './support/loop-input';
import { eventually, killHard, TDL, tempDir, testEnv, workerPerTest } from './support/temporal';

// A JWT-shaped token of 373 characters like the seed's, and what it looks like encoded.
const TOKEN = `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.${'eyJzdWIiOiJlMmUifQ'.padEnd(292, 'x')}.${'s'.repeat(43)}`;
const FORMS = [TOKEN, Buffer.from(TOKEN).toString('base64'), TOKEN.slice(40, 120)];

function assertClean(where: string, text: string): void {
  for (const form of FORMS) assert.ok(!text.includes(form), `${where} contains the token (${form.slice(0, 16)}…)`);
}

describe('secrets in a leaky suite', function () {
  const { start, current } = workerPerTest();
  const saved = process.env.E2E_TOKEN;

  before(function () {
    // The worker's environment holds the token; the suite inherits it.
    process.env.E2E_TOKEN = TOKEN;
  });
  after(function () {
    if (saved === undefined) delete process.env.E2E_TOKEN;
    else process.env.E2E_TOKEN = saved;
  });

  it('never reach history, status, reports, logs or notifications', async function () {
    const received: string[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push(body);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    try {
      const input = loopInput(stagingDir(), {
        handoff: { webhookUrl: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook` },
        probes: { jwt: { tokenEnv: 'E2E_TOKEN' } },
      });
      (input.suite as { env: Record<string, string> }).env.SUITE_LEAK = '1';
      const handle = await start(input);
      const status = await eventually(async () => {
        const s = await handle.query(messages.status);
        return s.phase === 'awaiting-fix' && received.length > 0 ? s : undefined;
      }, 'awaiting-fix and the fix team told');
      await handle.cancel();
      await handle.result().catch(() => undefined);

      const statusJson = JSON.stringify(status);
      assertClean('status', statusJson);
      assertClean('the report query', await handle.query(messages.report));
      const history = Buffer.from(temporal.api.history.v1.History.encode(await handle.fetchHistory()).finish()).toString('latin1');
      assertClean('workflow history', history);
      assertClean('the fix team notification', received.join('\n'));
      const loopDir = join(current().reportsDir, handle.workflowId);
      const files = readdirSync(loopDir, { recursive: true, encoding: 'utf8' }).filter((f) => !f.endsWith('junit.xml'));
      assert.ok(files.includes(join('cycle-1', 'suite-output.log')) && files.includes('loop-report.md'));
      for (const f of files.filter((name) => name.includes('.'))) assertClean(f, readFileSync(join(loopDir, f), 'utf8'));
      assert.match(readFileSync(join(loopDir, 'cycle-1', 'suite-output.log'), 'utf8'), /connecting with headers \{"Authorization": "Bearer \[token len=373 dots=2 eyJhbGciOiJI…s{8} bearer=no\]"\}/);
      // The JWT probe describes the token by its fingerprint only.
      assert.match(readFileSync(join(loopDir, 'cycle-1', 'report.md'), 'utf8'), /\[token len=373 dots=2 eyJhbGciOiJI…s{8} bearer=no\]/);
    } finally {
      await new Promise((r) => hook.close(r));
    }
  });
});

/**
 * The worker's own secrets, in a real `tdl worker` process: an opaque token named by
 * probes.jwt.tokenEnv (its name looks like nothing secret), a DATABASE_URL with a password, and the
 * webhook URL given by handoff.webhookUrlEnv. A suite prints them all and puts them in failure
 * messages; another prints them and exits 127. None of the values reaches history, status, the
 * report, the reports folder, the worker's log, the webhook or the hand-off command.
 */
describe("the worker's own secrets", function () {
  const ACCESS = 'opaque-Access-7Q2x9Lm4Rt';
  const DB_PASSWORD = 'db-Pa55-Wq8zK1';
  const DATABASE_URL = `postgres://app:${DB_PASSWORD}@127.0.0.1:5432/app`;
  const HOOK_SECRET = 'hook-Secret-Path-3vN6';
  let env: TestWorkflowEnvironment;
  let dir: string;
  let reportsDir: string;
  let taskQueue: string;
  let worker: ChildProcess;
  let workerLog = '';
  let hook: Server;
  let hookUrl: string;
  const received: string[] = [];

  const forms = (value: string) => [value, Buffer.from(value).toString('base64').replace(/=+$/, ''), encodeURIComponent(value)];
  const secretForms = () => [...forms(ACCESS), ...forms(DB_PASSWORD), ...forms(HOOK_SECRET), ...forms(hookUrl)];

  function assertNoSecret(where: string, text: string): void {
    for (const form of secretForms()) assert.ok(!text.includes(form), `${where} contains a worker secret (${form.slice(0, 12)}…)`);
  }

  /** Every file the loop wrote in the reports folder (the suite's raw JUnit report aside: that file is the suite's own). */
  function reportFiles(workflowId: string): [string, string][] {
    const loopDir = join(reportsDir, workflowId);
    return readdirSync(loopDir, { recursive: true, encoding: 'utf8' })
      .filter((f) => statSync(join(loopDir, f)).isFile() && !/junit[^/]*\.xml$/.test(f))
      .map((f) => [f, readFileSync(join(loopDir, f), 'utf8')]);
  }

  before(async function () {
    env = await testEnv();
    dir = tempDir('tdl-own-secrets-');
    reportsDir = join(dir, 'reports');
    taskQueue = `tdl-test-${randomUUID()}`;
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push(`${req.url} ${body}`);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/services/T1/B2/${HOOK_SECRET}`;
    // A suite that prints the worker's secrets and fails with them in its messages ($SUITE_EXIT: its exit code).
    writeFileSync(
      join(dir, 'leaky-suite.js'),
      `const leak = [process.env.STAGING_ACCESS, process.env.DATABASE_URL, process.env.TEAM_HOOK].join(' ');
console.log('env:', leak, Buffer.from(process.env.STAGING_ACCESS).toString('base64'));
console.error('connecting to', process.env.DATABASE_URL, 'with', process.env.STAGING_ACCESS);
const esc = (s) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
const failure = (i) => '<testcase classname="e2e" name="test_' + i + '"><failure message="' + esc('AssertionError: expected 200, got 500 with ' + leak) + '">' + esc(leak) + '</failure><system-out>' + esc(leak) + '</system-out></testcase>';
require('fs').writeFileSync(process.env.JUNIT_XML, '<testsuite name="e2e">' + failure(1) + failure(2) + '<testcase classname="e2e" name="test_ok"/></testsuite>');
process.exit(Number(process.env.SUITE_EXIT || 1));
`,
    );
    worker = spawn(process.execPath, [TDL, 'worker', '--task-queue', taskQueue, '--reports-dir', reportsDir], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: env.address,
        TEMPORAL_NAMESPACE: 'default',
        TDL_LOG_LEVEL: 'DEBUG',
        STAGING_ACCESS: ACCESS,
        DATABASE_URL,
        TEAM_HOOK: hookUrl,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    worker.stderr!.setEncoding('utf8').on('data', (chunk: string) => (workerLog += chunk));
  });

  after(async function () {
    if (worker.exitCode === null) await killHard(worker);
    await new Promise((r) => hook.close(r));
  });

  function startLoop(suiteExit: number) {
    return env.client.workflow.start(messages.WORKFLOW_TYPE, {
      taskQueue,
      workflowId: `own-secrets-${suiteExit}-${randomUUID()}`,
      args: [
        {
          name: 'own-env',
          suite: { command: `node ${join(dir, 'leaky-suite.js')}`, env: { SUITE_EXIT: String(suiteExit) }, timeout: '1m' },
          probes: { jwt: { tokenEnv: 'STAGING_ACCESS' } },
          handoff: { webhookUrlEnv: 'TEAM_HOOK', command: `cat > '${dir}/handoff-stdin'; printf %s "$TDL_MESSAGE" > '${dir}/handoff-message'` },
          maxCycles: 2,
        },
      ],
    });
  }

  async function assertCleanEverywhere(handle: WorkflowHandle): Promise<void> {
    const history = await handle.fetchHistory();
    assertNoSecret('workflow history (JSON)', JSON.stringify(history, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v)));
    assertNoSecret('workflow history (binary)', Buffer.from(temporal.api.history.v1.History.encode(history).finish()).toString('latin1'));
    assertNoSecret('the input in history', JSON.stringify(await handle.describe()));
    assertNoSecret('status', JSON.stringify(await handle.query(messages.status)));
    assertNoSecret('the report query', await handle.query(messages.report));
    const files = reportFiles(handle.workflowId);
    assert.ok(files.some(([f]) => f.endsWith('suite-output.log')), `the suite's output is in the reports folder: ${files.map(([f]) => f).join(', ')}`);
    for (const [f, text] of files) assertNoSecret(f, text);
  }

  it('a failing suite that prints them: masked in history, status, report, files, worker log, webhook and hand-off command', async function () {
    const handle = await startLoop(1);
    const status = await eventually(async () => {
      const s = await handle.query(messages.status);
      return s.phase === 'awaiting-fix' && received.length > 0 && existsSync(join(dir, 'handoff-message')) ? s : undefined;
    }, 'awaiting-fix, the webhook and the hand-off command told');
    assert.equal(status.lastRun?.failed, 2);
    await assertCleanEverywhere(handle);
    const output = readFileSync(join(reportsDir, handle.workflowId, 'cycle-1', 'suite-output.log'), 'utf8');
    assert.match(output, /postgres:\/\/app:\[redacted\]@127\.0\.0\.1:5432\/app/, 'the URL stays readable, its password masked');
    assert.ok(received[0].startsWith(`/services/T1/B2/${HOOK_SECRET} `), 'the webhook named by webhookUrlEnv was used');
    assertNoSecret('the webhook payloads', received.map((r) => r.slice(r.indexOf(' '))).join('\n'));
    assertNoSecret("the hand-off command's stdin", readFileSync(join(dir, 'handoff-stdin'), 'utf8'));
    assertNoSecret('TDL_MESSAGE', readFileSync(join(dir, 'handoff-message'), 'utf8'));
    assert.ok(!JSON.stringify(await handle.describe()).includes('127.0.0.1:'), 'the webhook URL is not in the input');
    // A sender who pastes a worker secret into a fix summary puts it in history (their message), not in the report file.
    await handle.signal(messages.fixCommitted, { commit: 'abc1234', summary: `rotated ${ACCESS} and ${DATABASE_URL}` });
    await eventually(async () => ((await handle.query(messages.status)).cycle === 2 ? true : undefined), 'the fix shipped and cycle 2 started');
    await handle.cancel();
    await handle.result().catch(() => undefined);
    assert.match(readFileSync(join(reportsDir, handle.workflowId, 'loop-report.md'), 'utf8'), /abc1234/);
    assertNoSecret('loop-report.md', readFileSync(join(reportsDir, handle.workflowId, 'loop-report.md'), 'utf8'));
    assert.match(workerLog, /"message":"diagnosed"/, 'the worker logged its activities');
    assertNoSecret("the worker's log", workerLog);
  });

  it('a suite that exits 127 after printing them: the failure message that ends the loop is masked', async function () {
    const handle = await startLoop(127);
    const err = await handle.result().then(
      () => assert.fail('the loop should fail'),
      (e: unknown) => e as Error & { cause?: Error & { cause?: Error } },
    );
    const message = `${err.message} ${err.cause?.message} ${err.cause?.cause?.message ?? ''}`;
    assert.match(message, /suite\.command could not be run \(exit 127/);
    assertNoSecret('the failure message', message);
    assert.equal((await handle.query(messages.status)).phase, 'gave-up');
    await assertCleanEverywhere(handle);
    assertNoSecret("the worker's log", workerLog);
  });
});
