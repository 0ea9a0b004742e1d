/**
 * The service's own logs as evidence: read with the real @google-cloud/logging client from the
 * wire-level Cloud Logging stand-in, or from verify.logsCommand; redacted, de-duplicated, bounded;
 * judged with the diagnosis engine's categories; and, on a real dev server, a revision whose start-up
 * throws goes back to the fix team with the stack trace.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { grpc } from 'google-gax';
import type { DeployConfig, VerifyConfig } from '../src/config/types';
import { parseLoopConfig } from '../src/config';
import { LOG_LIMITS, readServiceLogs, revisionErrorFilter, splitEntries, topDistinct } from '../src/deploy/logs';
import { LoopError } from '../src/errors';
import { listLoops } from '../src/cli/loops';
import * as messages from '../src/workflows/messages';
import { judgeServiceLogs, nextShipStep, readsServiceLogs, type ServiceLogsRecord, type ShipAttempt } from '../src/workflows/state';
import { DB_INIT_FAILURE } from '../examples/stand-ins/cloud-run';
import { startCloudLoggingStandIn, type CloudLoggingStandIn } from '../examples/stand-ins/cloud-logging';
import { loopInput, stagingDir, startHealthServer } from './support/loop-input';
import { eventually, phaseIs, tempDir, workerPerTest } from './support/temporal';
import { startWebhookReceiver } from './support/webhook';

const TRACEBACK = [
  'Traceback (most recent call last):',
  '  File "/app/netra/main.py", line 41, in <module>',
  '    app = create_app()',
  '  File "/app/netra/ws/auth.py", line 17, in create_app',
  '    protocols = settings.WS_SUBPROTOCOLS.split(",")',
  "AttributeError: 'NoneType' object has no attribute 'split'",
].join('\n');
const T = Date.parse('2026-11-26T10:00:00Z');
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJlMmUtdXNlciIsImV4cCI6MTc5NTcwNTAwMH0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU';

const cloudRun = (logsEndpoint: string | null): DeployConfig => ({
  kind: 'cloud-run',
  project: 'p',
  region: 'us-central1',
  service: 'backend',
  image: 'us-docker.pkg.dev/p/r/backend:{commit}',
  endpoint: null,
  logsEndpoint,
  timeout: '1m',
  strategy: 'direct',
});
const verifyConfig = (logsCommand: string | null = null): VerifyConfig => ({ url: null, expectStatus: 200, timeout: '10s', interval: '1s', logsCommand, suite: false });
const request = (since: Date, revision: string | null = 'backend-00002-abc') => ({
  commit: '176ad633b',
  revision,
  since: since.toISOString(),
  outputDir: tempDir('tdl-logs-'),
  signal: new AbortController().signal,
});

describe('service logs: entries, de-duplication, judgement', function () {
  it('keeps a stack trace together with the line that began it', function () {
    const entries = splitEntries(`INFO starting\n${TRACEBACK}\nERROR worker exited\n\n    at main (/app/x.js:1:1)`);
    assert.deepEqual(entries, ['INFO starting', TRACEBACK, 'ERROR worker exited\n    at main (/app/x.js:1:1)']);
  });

  it('redacts, counts entries that differ only in numbers and ids, keeps the most frequent few, bounded', function () {
    const noisy = Array.from({ length: 150 }, (_, i) => `connection ${i} to 10.0.0.${i % 250} refused (request 5f3a9c${i}e)`);
    const top = topDistinct([DB_INIT_FAILURE, ...noisy, `auth failed for Bearer ${JWT}`, DB_INIT_FAILURE, 'x'.repeat(10_000), 'a', 'b']);
    assert.equal(top.length, LOG_LIMITS.entries);
    assert.deepEqual(top.slice(0, 2).map((e) => e.count), [150, 2]);
    assert.equal(top[1].text, DB_INIT_FAILURE);
    assert.ok(top.every((e) => e.text.length <= LOG_LIMITS.entry));
    const auth = top.find((e) => e.text.startsWith('auth failed'))!;
    assert.ok(!auth.text.includes(JWT), 'the token never leaves the activity');
  });

  it("judges with the diagnosis engine: the database is infrastructure, the new code's exception is code", function () {
    assert.deepEqual(judgeServiceLogs([{ text: 'Application startup failed. Exiting.' }, { text: DB_INIT_FAILURE }]), {
      verdict: 'infrastructure',
      category: 'database',
      decidingEntry: DB_INIT_FAILURE,
    });
    assert.equal(judgeServiceLogs([{ text: TRACEBACK }]).verdict, 'code');
    assert.equal(judgeServiceLogs([{ text: TRACEBACK }]).decidingEntry, TRACEBACK, 'the stack trace goes to the fix team');
    assert.equal(judgeServiceLogs([{ text: "TypeError: Cannot read properties of undefined (reading 'split')\n    at parse (/app/ws.js:14:22)" }]).verdict, 'code');
    assert.equal(judgeServiceLogs([{ text: 'Application startup failed. Exiting.' }]).verdict, null, 'nothing conclusive');
    assert.equal(judgeServiceLogs([]).verdict, null);
  });

  it('are read for Cloud Run (from a Logging stand-in only when the Admin API is a stand-in) and with verify.logsCommand', function () {
    const run = { kind: 'cloud-run', endpoint: null, logsEndpoint: null };
    assert.equal(readsServiceLogs(run, { logsCommand: null }), true);
    assert.equal(readsServiceLogs({ ...run, endpoint: '127.0.0.1:1' }, { logsCommand: null }), false, 'never the real API for a stand-in deploy');
    assert.equal(readsServiceLogs({ ...run, endpoint: '127.0.0.1:1', logsEndpoint: '127.0.0.1:2' }, { logsCommand: null }), true);
    assert.equal(readsServiceLogs({ kind: 'command' }, { logsCommand: null }), false);
    assert.equal(readsServiceLogs({ kind: 'command' }, { logsCommand: 'kubectl logs deploy/backend --since=10m' }), true);
  });

  it('decides the next step of shipping a fix with the logs, read before a rollback', function () {
    const logs = (top: string[]): ServiceLogsRecord => ({ source: 'cloud-logging', revision: 'r2', read: top.length, top: top.map((text) => ({ text, count: 1 })), ...judgeServiceLogs(top.map((text) => ({ text }))), error: null });
    const unhealthy = { healthy: false, attempts: 3, lastStatus: 503, durationMs: 3000, evidence: ['HTTP 503 in 2 ms: Service Unavailable'] };
    const base: ShipAttempt = { commit: 'abc1234', deployFailure: null, deployed: { revision: 'r2', previousRevision: 'r1' }, verifies: true, verify: unhealthy, rollback: null, readsLogs: true };
    assert.deepEqual(nextShipStep(base), { step: 'logs' });
    assert.deepEqual(nextShipStep({ ...base, readsLogs: false }), { step: 'rollback', to: 'r1' }, 'loops from before the logs step replay without it');
    assert.deepEqual(nextShipStep({ ...base, logs: logs([TRACEBACK]) }), { step: 'rollback', to: 'r1' });
    const rolledBack = { revision: 'r1', from: 'r2', healthyAfter: true };
    const code = nextShipStep({ ...base, logs: logs([TRACEBACK]), rollback: rolledBack });
    assert.equal(code.step, 'back-to-fix', '503 from the new code crashing is the code, not infrastructure');
    assert.ok(code.step === 'back-to-fix' && code.why.includes("AttributeError: 'NoneType' object has no attribute 'split'") && code.why.includes('Rolled back to r1'));
    const infra = nextShipStep({ ...base, logs: logs([DB_INIT_FAILURE]), rollback: { ...rolledBack, healthyAfter: false } });
    assert.ok(infra.step === 'wait-infra' && infra.why.includes("the service's logs say: Database initialization failed"));
    assert.equal(nextShipStep({ ...base, logs: logs([TRACEBACK]), rollback: { ...rolledBack, healthyAfter: false } }).step, 'wait-infra', 'still down without the new code: infrastructure');
    const unread = { ...logs([]), error: 'no credentials' };
    assert.equal(nextShipStep({ ...base, logs: unread, rollback: { ...rolledBack, healthyAfter: false } }).step, 'wait-infra', 'without logs, the rules as before');

    const failed: ShipAttempt = { ...base, deployed: null, verify: null, deployFailure: { type: 'DeployFailed', message: 'revision r2 did not become ready' } };
    assert.deepEqual(nextShipStep(failed), { step: 'logs' });
    assert.equal(nextShipStep({ ...failed, logs: logs([DB_INIT_FAILURE]) }).step, 'wait-infra');
    assert.equal(nextShipStep({ ...failed, logs: logs([TRACEBACK]) }).step, 'back-to-fix');
    assert.equal(nextShipStep({ ...failed, logs: logs([]) }).step, 'back-to-fix', 'the deploy error alone, as before');
  });
});

describe('service logs: Cloud Logging through @google-cloud/logging, against the stand-in', function () {
  let standIn: CloudLoggingStandIn;
  beforeEach(async function () {
    standIn = await startCloudLoggingStandIn();
  });
  afterEach(async function () {
    await standIn.close();
  });

  it("reads the revision's errors since the deploy started, and only those", async function () {
    const since = new Date(Date.now() - 60_000);
    const write = (revision: string, severity: 'INFO' | 'ERROR', text: string, ago = 0, service = 'backend') =>
      standIn.write({ service, revision, severity, text, timestamp: new Date(Date.now() - ago) });
    for (let i = 0; i < 3; i++) write('backend-00002-abc', 'ERROR', DB_INIT_FAILURE);
    write('backend-00002-abc', 'INFO', 'Running database migrations');
    write('backend-00002-abc', 'ERROR', 'an error from before the deploy', 5 * 60_000);
    write('backend-00001-xyz', 'ERROR', 'the previous revision');
    write('backend-00002-abc', 'ERROR', 'another service', 0, 'frontend');
    write('backend-00002-abc', 'ERROR', `token rejected: Bearer ${JWT}`);

    const logs = await readServiceLogs(cloudRun(standIn.endpoint), verifyConfig(), request(since));
    assert.equal(logs.source, 'cloud-logging');
    assert.equal(logs.read, 4);
    assert.deepEqual(logs.top[0], { text: DB_INIT_FAILURE, count: 3 });
    assert.equal(logs.top.length, 2);
    assert.ok(!logs.top[1].text.includes(JWT), logs.top[1].text);
    assert.equal(standIn.requests[0].filter, revisionErrorFilter('backend', 'backend-00002-abc', since.toISOString()));
    assert.match(standIn.requests[0].filter!, /^resource\.type="cloud_run_revision" AND resource\.labels\.service_name="backend" AND resource\.labels\.revision_name="backend-00002-abc" AND severity>=ERROR AND timestamp>="/);
    assert.deepEqual(standIn.requests[0].resourceNames, ['projects/p']);

    const anyRevision = await readServiceLogs(cloudRun(standIn.endpoint), verifyConfig(), request(since, null));
    assert.equal(anyRevision.read, 5, 'a deploy whose revision is unknown reads the service');
  });

  it('a permanent refusal is ServiceLogsRejected, asked once; a transient one is left to the retries', async function () {
    standIn.failNextCalls(grpc.status.PERMISSION_DENIED, 5);
    const err = await readServiceLogs(cloudRun(standIn.endpoint), verifyConfig(), request(new Date())).then(
      () => assert.fail('should be refused'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof LoopError && err.type === 'ServiceLogsRejected', String(err));
    assert.equal(standIn.requests.length, 0, 'refused before the stand-in recorded anything');
    standIn.failNextCalls(grpc.status.UNAVAILABLE, 1);
    const transient = await readServiceLogs(cloudRun(standIn.endpoint), verifyConfig(), request(new Date())).then(
      () => assert.fail('should fail'),
      (e: unknown) => e,
    );
    assert.ok(!(transient instanceof LoopError), 'retryable');
  });
});

describe('service logs: verify.logsCommand', function () {
  it('runs with COMMIT, REVISION and SINCE and reads its output as the logs', async function () {
    const dir = tempDir('tdl-logs-cmd-');
    const script = join(dir, 'logs.sh');
    writeFileSync(script, `echo "commit=$COMMIT since=$SINCE"\ncat <<'EOF'\n${TRACEBACK}\nEOF\n`);
    const logs = await readServiceLogs({ kind: 'command', command: 'true', timeout: '1m', strategy: 'direct' }, verifyConfig(`sh ${script}`), request(new Date(T)));
    assert.equal(logs.source, 'command');
    assert.deepEqual(logs.top.map((e) => e.text), [`commit=176ad633b since=${new Date(T).toISOString()}`, TRACEBACK]);
  });

  it('a failing command says so, with its last lines', async function () {
    await assert.rejects(
      readServiceLogs({ kind: 'command', command: 'true', timeout: '1m', strategy: 'direct' }, verifyConfig('echo "gcloud: not logged in" >&2; exit 3'), request(new Date())),
      /verify\.logsCommand exited with code 3: .*not logged in/,
    );
  });

  it('is a command field of the input, refused when empty', function () {
    assert.throws(() => parseLoopConfig({ suite: { command: 'x' }, verify: { logsCommand: ' ' } }), /verify\.logsCommand/);
    assert.equal(parseLoopConfig({ suite: { command: 'x' } }).verify.logsCommand, null);
  });
});

describe('service logs in a loop, on a real dev server', function () {
  const { start, env } = workerPerTest();

  it("a revision whose start-up throws goes back to the fix team with the stack trace, and tdl list says where the time went", async function () {
    const dir = stagingDir();
    const health = await startHealthServer(200);
    const hooks = await startWebhookReceiver();
    const logsDir = tempDir('tdl-logs-wf-');
    mkdirSync(logsDir, { recursive: true });
    writeFileSync(join(logsDir, 'startup.log'), `INFO booting\n${TRACEBACK}\n${TRACEBACK}\n`);
    try {
      // Only the second fix makes the suite pass; staging answers what the test sets.
      const deploy = `echo "$COMMIT" >> '${dir}/deploys.log'; [ "$COMMIT" = bad1234 ] || echo "$COMMIT" > '${dir}/deployed'`;
      const input = loopInput(dir, {
        deploy: { kind: 'command', command: deploy, timeout: '1m' },
        verify: { url: health.url, timeout: '2s', interval: '1s', logsCommand: `[ "$COMMIT" = bad1234 ] && cat '${logsDir}/startup.log' || true` },
        handoff: { webhookUrl: hooks.url, remindEvery: '1h' },
      });
      const handle = await start(input);
      await phaseIs(handle, 'awaiting-fix');
      health.setStatus(503);
      await handle.executeUpdate(messages.submitFix, { args: [{ commit: 'bad1234' }] });
      const back = await eventually503(handle);
      const cycle = back.cycles[0];
      assert.equal(cycle.serviceLogs!.source, 'command');
      assert.equal(cycle.serviceLogs!.verdict, 'code');
      assert.deepEqual(cycle.serviceLogs!.top[0], { text: TRACEBACK, count: 2 });
      assert.match(back.reason!, /bad1234 deployed but its start-up threw \(service logs\): Traceback .*AttributeError: 'NoneType' object has no attribute 'split'/s);
      const fixTeam = () => hooks.received.filter((h) => h.audience === 'fix-team').map((h) => String(h.text));
      const toFixTeam = await eventually(async () => (fixTeam().length >= 2 ? fixTeam() : undefined), 'the fix team told again');
      assert.equal(toFixTeam.length, 2);
      assert.match(toFixTeam[1], /File "\/app\/netra\/ws\/auth\.py", line 17/, 'the fix team gets the stack trace');
      assert.ok(!hooks.received.some((h) => h.audience === 'infra-team'), 'not an infrastructure block');

      health.setStatus(200);
      await handle.executeUpdate(messages.submitFix, { args: [{ commit: 'good567' }] });
      const result = await handle.result();
      assert.equal(result.phase, 'passed');
      const final = await handle.query(messages.status);
      assert.ok(final.time!.timeToGreenMs! > 0);
      assert.ok(final.cycles[0].time!.waitingForFixMs > 0 && final.cycles[0].time!.verifyingMs > 0);

      // Visibility catches up with the memo a moment later.
      const listed = await eventually(async () => {
        const out: string[] = [];
        await listLoops(env().client, { out: (l: string) => out.push(l), err: () => undefined } as never, { json: true, limit: 50 });
        const l = (JSON.parse(out[0]) as { workflowId: string; phase: string; time: Record<string, number> | null }[]).find((x) => x.workflowId === handle.workflowId);
        return l?.phase === 'passed' ? l : undefined;
      }, 'the loop listed as passed');
      assert.deepEqual(listed.time, { ...final.time!.total, timeToGreenMs: final.time!.timeToGreenMs });
    } finally {
      await health.close();
      await hooks.close();
    }
  });
});

/** The loop is back to awaiting-fix after the bad deploy (it was awaiting-fix before it, too). */
async function eventually503(handle: Parameters<typeof phaseIs>[0]) {
  for (let i = 0; i < 300; i++) {
    const s = await handle.query(messages.status);
    if (s.phase === 'awaiting-fix' && s.cycles[0].serviceLogs) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the loop did not go back to the fix team');
}
