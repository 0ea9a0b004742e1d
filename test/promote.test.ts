/**
 * verify-then-promote and failed tests first, on a real dev server, with the real @google-cloud/run
 * client against the Cloud Run Admin API stand-in and a staging service on 127.0.0.1 that answers
 * for whichever revision serves (or for a tag's revision on its own URL), and a scripted suite that
 * asks staging which commit it is testing.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { WebSocketServer } from 'ws';
import type { WorkflowHandle } from '@temporalio/client';
import * as messages from '../src/workflows/messages';
import type { LoopResult } from '../src/workflows/loop';
import type { LoopStatus } from '../src/workflows/state';
import { startCloudRunStandIn, type CloudRunStandIn, type TrafficChange } from '../examples/stand-ins/cloud-run';
import { deployCommand, stagingDir } from './support/loop-input';
import { eventually, killHard, phaseIs, spawnWorker, tempDir, testEnv, workerPerTest } from './support/temporal';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook';

const SUITE = resolve(__dirname, 'support', 'select-suite.js');
const SERVICE = 'projects/p/locations/us-central1/services/backend';
const GOOD = 'f1xed0k';
const BAD = 'n0tf1xed';

interface Staging {
  dir: string;
  standIn: CloudRunStandIn;
  original: string;
  base: string;
  /** Revisions that answered on the service's own URL. */
  served: Set<string>;
  /** WebSocket handshakes offering `jwt-auth`: the revision that answered, and whether on its tag's URL. */
  jwtAuthHandshakes: { revision: string | null | undefined; tagged: boolean }[];
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const commitOf = (standIn: CloudRunStandIn, revision: string | null | undefined) =>
  [...standIn.state.revisions.values()].find((r) => r.name?.endsWith(`/${revision}`))?.containers?.[0]?.image?.split(':').pop() ?? '';

/**
 * Staging: `/version` and `/health` answer for the serving revision, `/tag/<tag>/…` for the tag's;
 * `/ws` is a WebSocket endpoint that refuses the `jwt-auth` subprotocol (HTTP 400) on the revisions
 * of the commits `refusesJwtAuth` names.
 */
async function startStaging(pollsToComplete = 1, refusesJwtAuth: (commit: string) => boolean = () => false): Promise<Staging> {
  let base = '';
  const standIn = await startCloudRunStandIn({ pollsToComplete, tagUrl: (tag) => `${base}/tag/${tag}` });
  const { revision: original } = standIn.seedService({ service: 'backend', image: 'us-docker.pkg.dev/p/r/backend:old' });
  const served = new Set<string>();
  const jwtAuthHandshakes: Staging['jwtAuthHandshakes'] = [];
  const route = (url = '') => {
    const tagged = /^\/tag\/([^/]+)(\/.*)$/.exec(url);
    const statuses = standIn.state.services.get(SERVICE)?.trafficStatuses ?? [];
    const revision = tagged ? statuses.find((t) => t.tag === tagged[1])?.revision : standIn.servingRevision(SERVICE);
    return { revision, tagged: Boolean(tagged), path: tagged ? tagged[2] : url };
  };
  const server = createServer((req, res) => {
    const { revision, tagged, path } = route(req.url);
    if (!revision) {
      res.writeHead(404).end('no such tag');
      return;
    }
    if (!tagged) served.add(revision);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(path === '/version' ? commitOf(standIn, revision) : 'ok');
  });
  const sockets = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const { revision, tagged, path } = route(req.url);
    const jwtAuth = String(req.headers['sec-websocket-protocol'] ?? '').split(',').some((p) => p.trim() === 'jwt-auth');
    if (jwtAuth) jwtAuthHandshakes.push({ revision, tagged });
    if (!revision || path !== '/ws' || (jwtAuth && refusesJwtAuth(commitOf(standIn, revision)))) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    sockets.handleUpgrade(req, socket, head, (ws) => ws.send(JSON.stringify({ type: 'welcome', revision })));
  });
  base = await listen(server);
  return {
    dir: stagingDir(),
    standIn,
    original,
    base,
    served,
    jwtAuthHandshakes,
    close: async () => {
      await standIn.close();
      for (const ws of sockets.clients) ws.terminate();
      await new Promise((r) => sockets.close(r));
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

function promoteInput(s: Staging, suiteEnv: Record<string, string> = {}, more: Record<string, unknown> = {}): Record<string, unknown> {
  const command = `node ${SUITE}`;
  return {
    name: 'netra-staging',
    suite: { command, selectCommand: command, env: { STAGING_DIR: s.dir, FIXED_BY: GOOD, SERVICE_URL: s.base, ...suiteEnv }, timeout: '2m' },
    deploy: {
      kind: 'cloud-run',
      project: 'p',
      region: 'us-central1',
      service: 'backend',
      image: 'us-docker.pkg.dev/p/r/backend:{commit}',
      endpoint: s.standIn.endpoint,
      timeout: '1m',
      strategy: 'verify-then-promote',
    },
    verify: { url: `${s.base}/health`, timeout: '3s', interval: '1s', suite: true },
    maxCycles: 4,
    ...more,
  };
}

const runs = (dir: string) => readFileSync(join(dir, 'runs.log'), 'utf8').trim().split('\n');

/** The status once cycle 1's candidate is discarded and the loop waits for a fix again. */
const discarded = (handle: WorkflowHandle) =>
  eventually(async () => {
    const st: LoopStatus = await handle.query(messages.status);
    return st.phase === 'awaiting-fix' && st.cycles[0].candidate?.outcome === 'discarded' ? st : undefined;
  }, 'the candidate to be discarded');

/** Traffic is never split: every routing gives all of it to one revision. */
function assertNeverSplit(history: TrafficChange[]): void {
  for (const change of history) {
    const live = change.targets.filter((t) => t.percent > 0);
    assert.deepEqual(live.map((t) => t.percent), [100], `traffic split: ${JSON.stringify(change.targets)}`);
  }
}

function servedRevisions(history: TrafficChange[]): string[] {
  return [...new Set(history.flatMap((c) => c.targets.filter((t) => t.percent > 0).map((t) => t.revision)))];
}

describe('verify-then-promote on Cloud Run', function () {
  const { start } = workerPerTest();
  let s: Staging;
  beforeEach(async () => (s = await startStaging()));
  afterEach(() => s.close());

  it('a green candidate: checked on its tag URL with the failing tests, then promoted, the service verified, the tag gone', async function () {
    const handle = await start(promoteInput(s));
    await phaseIs(handle, 'awaiting-fix');
    await handle.executeUpdate(messages.submitFix, { args: [{ commit: GOOD }] });
    const result: LoopResult = await handle.result();
    assert.equal(result.phase, 'passed');
    assert.equal(result.cycles, 2);

    const final = await handle.query(messages.status);
    const c = final.cycles[0].candidate!;
    assert.match(c.tag, /^netra-staging-[a-z0-9]{4}-c1$/);
    assert.equal(c.outcome, 'promoted');
    assert.equal(c.url, `${s.base}/tag/${c.tag}`);
    assert.equal(c.verify!.healthy, true);
    assert.equal(c.tests!.summary, '24/24 previously failing tests pass');
    assert.equal(final.cycles[0].verify!.healthy, true, 'the service URL verified after promotion');
    assert.equal(final.cycles[0].rollback, null);

    const [fixRevision] = s.standIn.revisionsOf(SERVICE).slice(1);
    assert.deepEqual(s.standIn.revisionsOf(SERVICE), [s.original, fixRevision], 'one revision for the fix');
    assert.equal(c.revision, fixRevision);
    const history = s.standIn.trafficHistory(SERVICE);
    assertNeverSplit(history);
    assert.deepEqual(history.map((h) => h.targets.map((t) => `${t.revision === fixRevision ? 'fix' : t.revision === s.original ? 'old' : t.revision}:${t.percent}${t.tag ? `:${t.tag}` : ''}`)), [
      ['old:100'],
      ['old:100', `fix:0:${c.tag}`],
      ['fix:100'],
    ]);
    // Cycle 1: the full suite, then the failing tests on the tag; cycle 2: those tests first, then the full suite.
    assert.deepEqual(runs(s.dir), [`full 25 ${s.base}`, `selected 24 ${c.url}`, `selected 24 ${s.base}`, `full 25 ${s.base}`]);
    assert.equal(final.cycles[1].failedFirst!.verdict, 'fixed');
    const report = await handle.query(messages.report);
    assert.ok(report.includes(`- **Candidate** ${fixRevision} on tag \`${c.tag}\` (${c.url}): health healthy after 1 checks; tests: 24/24 previously failing tests pass; promoted: all traffic to it`), report);
    assert.match(report, /- \*\*Failed tests first\*\*: 24\/24 previously failing tests pass \(\d+\.\d s\)/);
  });

  it('a red candidate: its tag removed, never served, no rollback, back to the fix team; the next fix is promoted', async function () {
    const handle = await start(promoteInput(s));
    await phaseIs(handle, 'awaiting-fix');
    await handle.executeUpdate(messages.submitFix, { args: [{ commit: BAD }] });
    const back = await discarded(handle);
    const c = back.cycles[0].candidate!;
    assert.match(back.reason!, /^candidate failed, staging untouched: n0tf1xed \(revision backend-n0tf1xed\) failed its tests on its own URL: 24\/24 previously failing tests still fail/);
    assert.equal(back.cycles[0].rollback, null, 'nothing to roll back');
    assert.equal(back.pendingFix, null);
    const statuses = s.standIn.state.services.get(SERVICE)!.trafficStatuses!;
    assert.ok(statuses.every((t) => !t.tag), 'the tag is gone');
    assert.deepEqual(servedRevisions(s.standIn.trafficHistory(SERVICE)), [s.original], 'the candidate never took traffic');
    assert.ok(!s.served.has(c.revision!), 'staging never answered from the candidate');
    assert.match(await handle.query(messages.report), /- \*\*Candidate\*\* backend-n0tf1xed on tag `[a-z0-9-]+` .*tests: 24\/24 previously failing tests still fail.*; discarded: it never served anyone/);

    await handle.executeUpdate(messages.submitFix, { args: [{ commit: GOOD }] });
    const result: LoopResult = await handle.result();
    assert.equal(result.phase, 'passed');
    const history = s.standIn.trafficHistory(SERVICE);
    assertNeverSplit(history);
    assert.deepEqual(servedRevisions(history), [s.original, 'backend-f1xed0k']);
    assert.deepEqual(s.standIn.revisionsOf(SERVICE), [s.original, 'backend-n0tf1xed', 'backend-f1xed0k']);
  });
});

describe('verify-then-promote: the probes judge the candidate', function () {
  const { start } = workerPerTest();
  let s: Staging | undefined;
  afterEach(() => s?.close());

  const wsProbe = (st: Staging) => ({ probes: { websocket: { url: `${st.base.replace(/^http/, 'ws')}/ws`, subprotocols: ['jwt-auth'] } } });
  const label = '(subprotocols jwt-auth, no Authorization)';
  /** Who answered the `jwt-auth` handshakes: `old`/`fix`, `@tag` on the tag's URL. */
  const handshakes = (st: Staging, fix: string | null) =>
    st.jwtAuthHandshakes.map((h) => `${h.revision === st.original ? 'old' : h.revision === fix ? 'fix' : h.revision}${h.tagged ? '@tag' : ''}`);

  it("a candidate that refuses jwt-auth while staging accepts it: its probe on the tag's URL fails it, staging untouched", async function () {
    const st = (s = await startStaging(1, (commit) => commit === GOOD));
    const handle = await start(promoteInput(st, {}, wsProbe(st)));
    await phaseIs(handle, 'awaiting-fix');
    await handle.executeUpdate(messages.submitFix, { args: [{ commit: GOOD }] });
    const back = await discarded(handle);
    const c = back.cycles[0].candidate!;
    const tagWs = `${c.url!.replace(/^http/, 'ws')}/ws`;
    assert.equal(c.verify!.healthy, false);
    assert.deepEqual(c.verify!.evidence.slice(-2), [`probe ${c.url}/health: ${c.verify!.evidence.at(-2)!.split(': ')[1]}`, `probe ${tagWs} ${label}: rejected with HTTP 400`]);
    assert.match(c.verify!.evidence.at(-2)!, /^probe .*\/health: HTTP 200 in \d+ ms, healthy$/);
    assert.equal(back.reason, `candidate failed, staging untouched: ${GOOD} (revision ${c.revision}) failed verification on its own URL: probe ${tagWs} ${label}: rejected with HTTP 400`);
    assert.equal(c.tests, null, 'an unhealthy candidate is not tested');
    // Cycle 1's diagnosis probed staging (accepted), the verification the candidate only.
    assert.deepEqual(handshakes(st, c.revision), ['old', 'fix@tag']);
    assert.deepEqual(servedRevisions(st.standIn.trafficHistory(SERVICE)), [st.original], 'the candidate never took traffic');
    assert.deepEqual(runs(st.dir), [`full 25 ${st.base}`]);
    await handle.cancel();
  });

  it("a candidate that accepts jwt-auth while staging refuses it: promoted, then the service's probe at its configured URL passes", async function () {
    const st = (s = await startStaging(1, (commit) => commit === 'old'));
    const handle = await start(promoteInput(st, {}, wsProbe(st)));
    await phaseIs(handle, 'awaiting-fix');
    await handle.executeUpdate(messages.submitFix, { args: [{ commit: GOOD }] });
    const result: LoopResult = await handle.result();
    assert.equal(result.phase, 'passed');
    const final = await handle.query(messages.status);
    const c = final.cycles[0].candidate!;
    assert.equal(c.outcome, 'promoted');
    assert.ok(c.verify!.evidence.includes(`probe ${c.url!.replace(/^http/, 'ws')}/ws ${label}: accepted (protocol jwt-auth)`), c.verify!.evidence.join('\n'));
    const after = final.cycles[0].verify!;
    assert.equal(after.healthy, true);
    assert.ok(after.evidence.includes(`probe ${st.base.replace(/^http/, 'ws')}/ws ${label}: accepted (protocol jwt-auth)`), after.evidence.join('\n'));
    assert.ok(after.evidence.some((e) => e.startsWith(`probe ${st.base}/health: HTTP 200`)), after.evidence.join('\n'));
    // Diagnosis of cycle 1 (staging refused), the candidate on its tag, the service after promotion, cycle 2's diagnosis.
    assert.deepEqual(handshakes(st, c.revision), ['old', 'fix@tag', 'fix', 'fix']);
  });
});

describe('verify-then-promote: a worker killed between deploy and promote', function () {
  it('a new worker checks the same candidate and promotes it once', async function () {
    const env = await testEnv();
    const s = await startStaging();
    const taskQueue = `tdl-kill-promote-${randomUUID()}`;
    const reportsDir = tempDir('tdl-reports-');
    let worker = spawnWorker(env, taskQueue, reportsDir);
    let orphan = 0;
    try {
      // The candidate's tests hang the first time: the worker dies after the deploy, before the promotion.
      const handle = await env.client.workflow.start(messages.WORKFLOW_TYPE, {
        taskQueue,
        workflowId: `kill-promote-${randomUUID()}`,
        args: [promoteInput(s, { CANDIDATE_SLEEP_MS: '20000' })],
      });
      await phaseIs(handle, 'awaiting-fix');
      await handle.signal(messages.fixCommitted, { commit: GOOD });
      const pidFile = join(s.dir, 'candidate.pid');
      orphan = await eventually(async () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : undefined), "the candidate's tests to start");
      const deployed = s.standIn.revisionsOf(SERVICE);
      await killHard(worker);
      worker = spawnWorker(env, taskQueue, reportsDir);
      const result: LoopResult = await handle.result();
      assert.equal(result.phase, 'passed');

      assert.deepEqual(s.standIn.revisionsOf(SERVICE), deployed, 'no second revision');
      const history = s.standIn.trafficHistory(SERVICE);
      assertNeverSplit(history);
      assert.equal(history.filter((h) => h.targets.some((t) => t.revision === 'backend-f1xed0k' && t.percent === 100)).length, 1, 'promoted once');
      const final: LoopStatus = await handle.query(messages.status);
      assert.equal(final.cycles[0].candidate!.outcome, 'promoted');
    } finally {
      worker.kill('SIGTERM');
      // The killed worker's sleeping test process, if it outlived its worker.
      if (orphan) {
        try {
          process.kill(orphan, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      await s.close();
    }
  });
});

describe('failed tests first after a verified fix', function () {
  let dir: string;
  let hooks: WebhookReceiver;
  const { start } = workerPerTest();

  beforeEach(async function () {
    dir = stagingDir();
    hooks = await startWebhookReceiver();
  });
  afterEach(async function () {
    await hooks.close();
  });

  function input(): Record<string, unknown> {
    const command = `node ${SUITE}`;
    return {
      name: 'netra-staging',
      suite: { command, selectCommand: command, env: { STAGING_DIR: dir, FIXED_BY: GOOD }, timeout: '2m' },
      deploy: { kind: 'command', command: deployCommand(dir), timeout: '1m' },
      handoff: { webhookUrl: hooks.url },
      maxCycles: 4,
    };
  }
  const texts = () => hooks.received.map((h) => String(h.text));

  it('stops early when the failing tests still fail: straight back to the fix team with the new run', async function () {
    const handle = await start(input());
    await phaseIs(handle, 'awaiting-fix');
    await handle.executeUpdate(messages.submitFix, { args: [{ commit: BAD }] });
    const back = await eventually(async () => {
      const st = await handle.query(messages.status);
      return st.phase === 'awaiting-fix' && st.cycle === 2 ? st : undefined;
    }, 'cycle 2 back at the fix team');
    const ff = back.cycles[1].failedFirst!;
    assert.equal(ff.verdict, 'still-failing');
    assert.equal(ff.summary, '24/24 previously failing tests still fail');
    assert.deepEqual(back.lastRun && [back.lastRun.total, back.lastRun.failed], [24, 24], "the cycle's verdict is the early run's");
    assert.equal(back.cycles[1].rootCauses[0].count, 24);
    assert.deepEqual(runs(dir), ['full 25 file', 'selected 24 file'], 'no full suite in cycle 2');
    assert.ok(texts().some((t) => t === 'netra-staging cycle 2: 24/24 previously failing tests still fail: back to the fix team without the full suite'), texts().join('\n'));
    await handle.cancel();
  });

  it('gives the early verdict, then runs the full suite for the cycle verdict', async function () {
    const handle = await start(input());
    await phaseIs(handle, 'awaiting-fix');
    await handle.executeUpdate(messages.submitFix, { args: [{ commit: GOOD }] });
    const result: LoopResult = await handle.result();
    assert.equal(result.phase, 'passed');
    const final = await handle.query(messages.status);
    assert.equal(final.cycles[1].failedFirst!.verdict, 'fixed');
    assert.equal(final.lastRun!.total, 25, 'the verdict is the full suite');
    assert.deepEqual(runs(dir), ['full 25 file', 'selected 24 file', 'full 25 file']);
    assert.ok(texts().includes('netra-staging cycle 2: 24/24 previously failing tests pass; running the full suite'), texts().join('\n'));
  });
});
