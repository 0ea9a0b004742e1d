/**
 * The notifier against a real HTTP receiver on 127.0.0.1 and a real shell command.
 */
import * as assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { notifyTarget } from '../../src/activities/notify';
import { escapeMrkdwn, notify, type Notification } from '../../src/notify';
import { FailureType, LoopError, NON_RETRYABLE_TYPES } from '../../src/errors';

const SECRET_ENV = 'TDL_TEST_NOTIFY_TOKEN';
const SECRET = 'seeded-secret-4f9a2c7e1b';
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJlMmUtdXNlciJ9.abcdefghijklmnopqrstuvwxyze7OLU3aA';
/** Slack puts its token in the webhook path: it must never appear in an error. */
const HOOK_PATH = '/services/T0000/B0000/XXXXwebhooksecretXXXX';

const message: Notification = {
  audience: 'infra-team',
  loop: 'netra-staging',
  workflowId: 'tdl-netra-staging',
  cycle: 1,
  phase: 'blocked-infra',
  text: `netra-staging: staging is down (503). Token in logs: Bearer ${JWT}; db password ${SECRET}`,
  report: `# Cycle 1\n\nHealth check: 503 Service Unavailable\nleaked: ${SECRET}\n`,
  reportPath: '/reports/tdl-netra-staging/cycle-1/report.md',
};

interface Received {
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}${HOOK_PATH}`)));
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

async function rejection(promise: Promise<unknown>): Promise<LoopError> {
  const err = await promise.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof LoopError, `expected a LoopError, got ${String(err)}`);
  assert.ok(!err.message.includes(HOOK_PATH), 'the webhook URL is a secret');
  return err;
}

const signal = () => new AbortController().signal;

describe('notify', function () {
  let server: Server;
  let url: string;
  let received: Received[];
  /** Status codes to answer with, in order; 200 once they run out. */
  let answers: number[];

  before(() => {
    process.env[SECRET_ENV] = SECRET;
  });
  after(() => {
    delete process.env[SECRET_ENV];
  });

  beforeEach(async () => {
    received = [];
    answers = [];
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
        const status = answers.shift() ?? 200;
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : `error ${status}`);
      });
    });
    url = await listen(server);
  });
  afterEach(() => close(server));

  it('posts Slack-compatible JSON with the loop fields, secrets redacted', async () => {
    await notify({ webhookUrl: url, command: null }, message, { signal: signal() });

    assert.equal(received.length, 1);
    const [{ headers, body }] = received;
    assert.equal(headers['content-type'], 'application/json');
    assert.deepEqual(
      { loop: body.loop, workflowId: body.workflowId, cycle: body.cycle, audience: body.audience, phase: body.phase, reportPath: body.reportPath },
      { loop: 'netra-staging', workflowId: 'tdl-netra-staging', cycle: 1, audience: 'infra-team', phase: 'blocked-infra', reportPath: message.reportPath },
    );
    const raw = JSON.stringify(body);
    assert.ok(!raw.includes(SECRET), 'the seeded secret is redacted everywhere');
    assert.ok(!raw.includes(JWT.split('.')[2]), 'the token is shown only by its fingerprint');
    assert.match(
      body.text as string,
      /^netra-staging: staging is down \(503\)\. Token in logs: \[token len=\d+ dots=2 eyJhbGciOiJI…e7OLU3aA bearer=yes\]; db password \[redacted\]$/,
    );
    const blocks = body.blocks as Array<{ type: string; text?: { type: string; text: string } }>;
    assert.deepEqual(blocks[0].text, { type: 'mrkdwn', text: body.text });
    assert.equal(blocks[1].type, 'context');
    assert.equal(blocks[2].text!.text, '# Cycle 1\n\nHealth check: 503 Service Unavailable\nleaked: [redacted]\n');
    assert.equal(body.report, blocks[2].text!.text);
  });

  it('escapes Slack mrkdwn, so a commit or summary carrying <!channel> or a link pings and links nothing', async () => {
    const hostile = { ...message, text: 'fix <!channel> by <https://evil.example|click> & co', report: `# Cycle 1 <!here>\n${'&'.repeat(4000)}` };
    await notify({ webhookUrl: url, command: null }, hostile, { signal: signal() });
    const { body } = received[0];
    const blocks = body.blocks as Array<{ text?: { text: string }; elements?: Array<{ text: string }> }>;
    const mrkdwnTexts = [body.text as string, blocks[0].text!.text, blocks[1].elements![0].text, blocks[2].text!.text];
    for (const text of mrkdwnTexts) assert.doesNotMatch(text, /[<>]|&(?!amp;|lt;|gt;)/, text.slice(0, 80));
    assert.equal(body.text, 'fix &lt;!channel&gt; by &lt;https://evil.example|click&gt; &amp; co');
    assert.ok(blocks[2].text!.text.length <= 3000, 'the escaped section stays within Slack\'s limit');
    assert.ok(blocks[2].text!.text.startsWith('# Cycle 1 &lt;!here&gt;\n&amp;&amp;'));
  });

  it('escapeMrkdwn: &, < and > as entities, nothing else touched', () => {
    assert.equal(escapeMrkdwn('a & b <c> *bold* `code`'), 'a &amp; b &lt;c&gt; *bold* `code`');
  });

  it('handoff.webhookUrlEnv: the URL is read on the worker, never shown, and a missing variable is NotifyRejected naming it', async () => {
    const handoff = { webhookUrl: null, webhookUrlEnv: 'TDL_TEST_HOOK', command: null, remindEvery: '4h' };
    let missing: unknown;
    try {
      notifyTarget(handoff, {});
    } catch (err) {
      missing = err;
    }
    assert.ok(missing instanceof LoopError && missing.type === FailureType.NotifyRejected);
    assert.equal(missing.message, "handoff.webhookUrlEnv: TDL_TEST_HOOK is not set on the worker; set it in the worker's environment");

    process.env.TDL_TEST_HOOK = url;
    try {
      const target = notifyTarget(handoff, process.env);
      await notify(target, { ...message, text: `posting to ${url}` }, { signal: signal() });
      assert.equal(received.length, 1);
      assert.ok(!JSON.stringify(received[0].body).includes(HOOK_PATH), 'the URL named by webhookUrlEnv is masked in what is sent');
      answers = [404];
      const err = await rejection(notify(target, message, { signal: signal() }));
      assert.match(err.message, /^handoff\.webhookUrlEnv \(TDL_TEST_HOOK\) \(http:\/\/127\.0\.0\.1:\d+\/…\) answered 404/);
    } finally {
      delete process.env.TDL_TEST_HOOK;
    }
  });

  it('reports a 5xx or 429 as retryable NotifyFailed, and a retry delivers', async () => {
    answers = [500, 429];
    for (const status of [500, 429]) {
      const err = await rejection(notify({ webhookUrl: url, command: null }, message, { signal: signal() }));
      assert.equal(err.type, FailureType.NotifyFailed);
      assert.ok(!NON_RETRYABLE_TYPES.includes(err.type));
      assert.equal(err.message, `handoff.webhookUrl (${new URL(url).origin}/…) answered ${status} (error ${status})`);
    }
    await notify({ webhookUrl: url, command: null }, message, { signal: signal() });
    assert.equal(received.length, 3);
  });

  it('reports a 404 as non-retryable NotifyRejected', async () => {
    answers = [404];
    const err = await rejection(notify({ webhookUrl: url, command: null }, message, { signal: signal() }));
    assert.equal(err.type, FailureType.NotifyRejected);
    assert.ok(NON_RETRYABLE_TYPES.includes(err.type));
    assert.match(err.message, /answered 404 \(error 404\): check the URL/);
    assert.equal(received.length, 1);
  });

  it('reports a silent or unreachable receiver as NotifyFailed within the bound', async () => {
    const silent = createServer(() => undefined); // accepts, never answers
    const silentUrl = await listen(silent);
    try {
      const started = Date.now();
      const timedOut = await rejection(notify({ webhookUrl: silentUrl, command: null }, message, { signal: signal(), timeoutMs: 200 }));
      assert.equal(timedOut.type, FailureType.NotifyFailed);
      assert.match(timedOut.message, /did not answer within 200 ms$/);
      assert.ok(Date.now() - started < 2000);
    } finally {
      await close(silent);
    }
    // Nothing listens on a closed server's port.
    const refused = await rejection(notify({ webhookUrl: silentUrl, command: null }, message, { signal: signal() }));
    assert.equal(refused.type, FailureType.NotifyFailed);
    assert.match(refused.message, /unreachable \(ECONNREFUSED\)$/);
  });

  describe('command', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'tdl-notify-test-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('runs under /bin/sh with the redacted report on stdin and the loop in TDL_* variables', async () => {
      const command = `cat > "${dir}/stdin" && env | grep '^TDL_' > "${dir}/env"`;
      await notify({ webhookUrl: null, command }, message, { signal: signal() });

      assert.equal(readFileSync(join(dir, 'stdin'), 'utf8'), '# Cycle 1\n\nHealth check: 503 Service Unavailable\nleaked: [redacted]\n');
      const env = readFileSync(join(dir, 'env'), 'utf8').split('\n');
      for (const line of [
        'TDL_AUDIENCE=infra-team',
        'TDL_CYCLE=1',
        'TDL_LOOP=netra-staging',
        'TDL_PHASE=blocked-infra',
        `TDL_REPORT_PATH=${message.reportPath}`,
        'TDL_WORKFLOW_ID=tdl-netra-staging',
      ]) {
        assert.ok(env.includes(line), `${line} in\n${env.join('\n')}`);
      }
      assert.ok(env.some((l) => l.startsWith('TDL_MESSAGE=netra-staging: staging is down (503).') && l.endsWith('db password [redacted]')));
    });

    it('treats a failing command as retryable and one that cannot run as rejected', async () => {
      const failed = await rejection(notify({ webhookUrl: null, command: 'echo "chat API down" >&2; exit 3' }, message, { signal: signal() }));
      assert.equal(failed.type, FailureType.NotifyFailed);
      assert.equal(failed.message, 'handoff.command exited with code 3: chat API down');

      const missing = await rejection(notify({ webhookUrl: null, command: 'tdl-no-such-notifier' }, message, { signal: signal() }));
      assert.equal(missing.type, FailureType.NotifyRejected);
      assert.match(missing.message, /^handoff\.command exited with code 127: .*not found: the command cannot run; check handoff\.command$/);
    });

    it('sends to both channels and names both failures', async () => {
      answers = [503];
      const err = await rejection(notify({ webhookUrl: url, command: 'exit 127' }, message, { signal: signal() }));
      assert.equal(err.type, FailureType.NotifyRejected, 'one permanent failure makes the whole non-retryable');
      assert.match(err.message, /answered 503 .*; handoff\.command exited with code 127/);
      assert.equal(received.length, 1);
    });
  });
});
