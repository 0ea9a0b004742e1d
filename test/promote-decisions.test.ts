/** verify-then-promote's names and decisions, and failed-first's verdicts: pure functions. */
import assert from 'node:assert/strict';
import { ConfigError, parseLoopConfig } from '../src/config';
import { judgeProbes } from '../src/activities/verify';
import { candidateRevision, candidateTag, candidateUrl, probesAt, taggedServiceUrl, TAG_AND_SERVICE_MAX } from '../src/deploy/candidate';
import type { WebSocketAttempt } from '../src/diagnosis/types';
import { wsAttempt } from './support/probe-evidence';
import { FailureType } from '../src/errors';
import { failedFirstHeadline, judgeFailingTests, runsFailedFirst } from '../src/workflows/failed-first';
import type { CandidateRecord } from '../src/workflows/promote';
import { nextShipStep, type ShipAttempt, type VerifyRecord } from '../src/workflows/state';

const counts = (passed: number, failed: number, flaky = 0) => ({ total: passed + failed + flaky, passed, failed, errored: 0, skipped: 0, flaky });

describe('verify-then-promote names', function () {
  const TAG = /^[a-z][a-z0-9-]*[a-z0-9]$/;

  it('derives a valid tag from the loop and cycle, within Cloud Run limit with the service name', function () {
    const tag = candidateTag('netra-staging', 'loop-1', 3, 'netra-backend-staging');
    assert.match(tag, TAG);
    assert.match(tag, /^netra-staging-[a-z0-9]{4}-c3$/);
    assert.ok(tag.length + 'netra-backend-staging'.length <= TAG_AND_SERVICE_MAX);
    assert.notEqual(candidateTag('netra-staging', 'loop-2', 3, 's'), candidateTag('netra-staging', 'loop-1', 3, 's'), 'two loops of one name differ');
    assert.equal(candidateTag('netra-staging', 'loop-1', 3, 's'), candidateTag('netra-staging', 'loop-1', 3, 's'), 'stable');
  });

  it('cuts long names, cleans odd ones, and starts with a letter', function () {
    const service = 'x'.repeat(38);
    for (const name of ['A Very Long Loop Name For The Nightly Staging Run', '42 loops', '---', 'ÜBER_staging!!']) {
      for (const cycle of [1, 99, 1000]) {
        const tag = candidateTag(name, 'wf', cycle, service);
        assert.match(tag, TAG, `${name} ${cycle}: ${tag}`);
        assert.ok(tag.length >= 3 && tag.length + service.length <= TAG_AND_SERVICE_MAX, `${tag} too long`);
      }
    }
    assert.equal(candidateTag('n', 'wf', 1000, 'x'.repeat(40)), 'cy1000');
    assert.throws(() => candidateTag('n', 'wf', 1, 'x'.repeat(44)), /no room for a tag/);
  });

  it('names one revision per commit, a new one per attempt, within 63 characters', function () {
    assert.equal(candidateRevision('backend', '176AD633b', 1), 'backend-176ad633b');
    assert.equal(candidateRevision('backend', '176ad633b', 2), 'backend-176ad633b-a2');
    const long = candidateRevision('s'.repeat(41), 'f'.repeat(40), 12);
    assert.ok(long.length <= 63 && long.startsWith('s'.repeat(41) + '-'), long);
    assert.equal(candidateRevision('backend', '__', 1), 'backend-fix');
  });

  it("checks the candidate at verify.url's path on the tag's URL", function () {
    assert.equal(candidateUrl('https://api.staging.example/health?deep=1', 'https://t---backend-abc-uc.a.run.app'), 'https://t---backend-abc-uc.a.run.app/health?deep=1');
    assert.equal(candidateUrl('http://127.0.0.1:9/health', 'http://127.0.0.1:7/tag/t/'), 'http://127.0.0.1:7/tag/t/health');
  });

  it("knows Cloud Run's service URL beside a tag's, and nothing beside another URL", function () {
    assert.equal(taggedServiceUrl('https://t-c1---backend-abc-uc.a.run.app', 't-c1'), 'https://backend-abc-uc.a.run.app');
    assert.equal(taggedServiceUrl('http://127.0.0.1:7/tag/t-c1', 't-c1'), null);
    assert.equal(taggedServiceUrl('https://other---backend-abc-uc.a.run.app', 't-c1'), null);
  });
});

describe('probes pointed at a candidate', function () {
  const TAG_URL = 'https://t-c1---backend-abc-uc.a.run.app';
  const probes = (p: Record<string, unknown>, verifyUrl = 'https://api.staging.example/health') =>
    parseLoopConfig({ suite: { command: 'true' }, verify: { url: verifyUrl }, probes: p }).probes;

  it("moves every probe of the service's origin to the tag's, path and query kept, ws stays ws", function () {
    const p = probes({
      websocket: { url: 'wss://api.staging.example:443/ws?v=2', subprotocols: ['jwt-auth'], tokenEnv: 'E2E_JWT' },
      jwt: { tokenEnv: 'E2E_JWT', jwksUrl: 'https://API.staging.example/.well-known/jwks.json' },
      http: { url: 'https://api.staging.example/ready' },
    });
    assert.deepEqual(probesAt(p, ['https://api.staging.example/health'], TAG_URL), {
      websocket: { url: `wss://t-c1---backend-abc-uc.a.run.app/ws?v=2`, subprotocols: ['jwt-auth'], tokenEnv: 'E2E_JWT' },
      jwt: { tokenEnv: 'E2E_JWT', jwksUrl: `${TAG_URL}/.well-known/jwks.json`, issuer: null, audience: null },
      http: { url: `${TAG_URL}/ready` },
    });
  });

  it('leaves other origins alone: another service, an auth server, another port or scheme', function () {
    const p = probes({
      websocket: { url: 'ws://api.staging.example/ws' },
      jwt: { tokenEnv: 'E2E_JWT', jwksUrl: 'https://auth.staging.example/jwks' },
      http: { url: 'https://api.staging.example:8443/health' },
    });
    assert.deepEqual(probesAt(p, ['https://api.staging.example/health'], TAG_URL), p);
  });

  it("matches Cloud Run's own service URL as well as verify.url's, on a tag URL with a path", function () {
    const p = probes({ websocket: { url: 'wss://backend-abc-uc.a.run.app/ws' }, http: { url: 'http://127.0.0.1:9/health' } }, 'http://127.0.0.1:9/health');
    const tagUrl = 'http://127.0.0.1:7/tag/t-c1/';
    const at = probesAt(p, ['http://127.0.0.1:9/health', 'https://backend-abc-uc.a.run.app'], tagUrl);
    assert.equal(at.websocket!.url, 'ws://127.0.0.1:7/tag/t-c1/ws');
    assert.equal(at.http!.url, 'http://127.0.0.1:7/tag/t-c1/health');
    assert.equal(at.jwt, null);
    assert.deepEqual(probesAt(p, [null, undefined], tagUrl), p, 'no service origin known: nothing moves');
  });
});

describe("a revision's probes judged", function () {
  const attempt = (over: Partial<WebSocketAttempt>) =>
    wsAttempt({ label: 'subprotocols jwt-auth, Authorization: Bearer <token>', subprotocols: ['jwt-auth'], ms: 3, ...over });
  const http = { url: 'http://h/health', status: 200, healthy: true, body: 'ok', error: null, ms: 2 };
  const ws = (...attempts: WebSocketAttempt[]) => ({ url: 'ws://h/ws', attempts });

  it('needs the configured handshake accepted (not a variant) and the HTTP probe healthy; the failure is the last line', function () {
    const refused = judgeProbes({ at: '', jwt: null, http, websocket: ws(attempt({ status: 400 }), attempt({ subprotocols: [], accepted: true, status: 101 })) });
    assert.equal(refused.healthy, false);
    assert.deepEqual(refused.lines, ['probe http://h/health: HTTP 200 in 2 ms, healthy', 'probe ws://h/ws (subprotocols jwt-auth, Authorization: Bearer <token>): rejected with HTTP 400']);
    const fine = judgeProbes({ at: '', jwt: null, http, websocket: ws(attempt({ accepted: true, status: 101, protocol: 'jwt-auth' })) });
    assert.equal(fine.healthy, true);
    assert.equal(fine.lines[0], 'probe ws://h/ws (subprotocols jwt-auth, Authorization: Bearer <token>): accepted (protocol jwt-auth)');
    const down = judgeProbes({ at: '', jwt: null, websocket: null, http: { ...http, status: 503, healthy: false } });
    assert.deepEqual(down, { healthy: false, lines: ['probe http://h/health: HTTP 503 in 2 ms, unhealthy'] });
  });
});

describe('verify-then-promote input', function () {
  const cloudRun = { kind: 'cloud-run', project: 'p', region: 'r', service: 'backend', image: 'i/b:{commit}' };
  const problem = (input: unknown) => {
    try {
      parseLoopConfig(input);
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.message;
    }
    return assert.fail('expected bad input');
  };

  it('defaults to direct, and accepts verify-then-promote on Cloud Run with something to verify', function () {
    assert.equal(parseLoopConfig({ suite: { command: 'x' }, deploy: cloudRun }).deploy.kind === 'cloud-run' && 'direct', 'direct');
    const c = parseLoopConfig({ suite: { command: 'x', selectCommand: 'y' }, deploy: { ...cloudRun, strategy: 'verify-then-promote' }, verify: { suite: true } });
    assert.equal(c.deploy.kind === 'cloud-run' && c.deploy.strategy, 'verify-then-promote');
    assert.equal(c.suite.selectCommand, 'y');
  });

  it('refuses what cannot work, naming the field', function () {
    assert.match(problem({ suite: { command: 'x' }, deploy: { kind: 'command', command: 'd', strategy: 'verify-then-promote' } }), /^deploy\.strategy: must be "direct" for deploy\.kind "command".*needs deploy\.kind "cloud-run"/);
    assert.match(problem({ suite: { command: 'x' }, deploy: { ...cloudRun, strategy: 'canary' } }), /^deploy\.strategy: must be one of direct, verify-then-promote, got "canary"/);
    assert.match(problem({ suite: { command: 'x' }, deploy: { ...cloudRun, strategy: 'verify-then-promote' } }), /^deploy\.strategy: .*needs verify\.url or verify\.suite/);
    assert.match(problem({ suite: { command: 'x' }, verify: { suite: true } }), /^verify\.suite: .*needs deploy\.kind "cloud-run" with deploy\.strategy "verify-then-promote"/);
    assert.match(
      problem({ suite: { command: 'x' }, deploy: { ...cloudRun, service: 's'.repeat(41), strategy: 'verify-then-promote' }, verify: { url: 'https://x/h' } }),
      /^deploy\.service: is longer than 40 characters/,
    );
    assert.match(problem({ suite: { use: 'e2e', selectCommand: 'y' } }), /^suite\.selectCommand: cannot be given with suite\.use/);
  });
});

describe('failed tests first', function () {
  it('runs after a verified fix, when tests can be selected', function () {
    const suite = parseLoopConfig({ suite: { command: 'x', selectCommand: 'y' } }).suite;
    assert.equal(runsFailedFirst(suite, true), true);
    assert.equal(runsFailedFirst(suite, false), false);
    assert.equal(runsFailedFirst(parseLoopConfig({ suite: { command: 'x' } }).suite, true), false);
    assert.equal(runsFailedFirst(parseLoopConfig({ suite: { command: 'x', rerunFailed: 'r' } }).suite, true), true);
  });

  it('gives the early verdict', function () {
    const fixed = judgeFailingTests({ ran: true, selected: 24, tests: counts(23, 0, 1), junitPaths: ['j'], durationMs: 5 });
    assert.equal(fixed.verdict, 'fixed');
    assert.equal(failedFirstHeadline(fixed), '24/24 previously failing tests pass; running the full suite');

    const still = judgeFailingTests({ ran: true, selected: 24, tests: counts(21, 3), junitPaths: ['j'], durationMs: 5 });
    assert.equal(still.verdict, 'still-failing');
    assert.equal(failedFirstHeadline(still), '3/24 previously failing tests still fail: back to the fix team without the full suite');

    const partial = judgeFailingTests({ ran: true, selected: 24, tests: counts(20, 0), junitPaths: ['j'], durationMs: 5 });
    assert.equal(partial.summary, '20/24 previously failing tests pass (4 not run)');
    assert.equal(judgeFailingTests({ ran: true, selected: 24, tests: counts(0, 0), junitPaths: ['j'], durationMs: 5 }).verdict, 'inconclusive');
    const skipped = judgeFailingTests({ ran: false, selected: 0, why: "the failing run's JUnit report is not on this worker", durationMs: 1 });
    assert.equal(skipped.verdict, 'inconclusive');
    assert.match(failedFirstHeadline(skipped), /not on this worker; running the full suite$/);
  });
});

describe('shipping a candidate, step by step', function () {
  const healthy = (ok: boolean): VerifyRecord => ({ healthy: ok, attempts: 1, lastStatus: ok ? 200 : 500, durationMs: 1, evidence: [ok ? 'HTTP 200' : 'HTTP 500: boom'] });
  const attempt = (over: Partial<ShipAttempt> = {}, c: Partial<CandidateRecord> = {}): ShipAttempt => ({
    commit: 'f1x',
    deployFailure: null,
    deployed: { revision: 'backend-f1x', previousRevision: 'backend-00001-abc' },
    verifies: true,
    verify: null,
    rollback: null,
    testsCandidate: true,
    candidate: { tag: 'loop-c1', revision: 'backend-f1x', url: 'https://t', verify: null, tests: null, outcome: null, ...c },
    ...over,
  });
  const tests = (fixedOk: boolean) => judgeFailingTests({ ran: true, selected: 2, tests: fixedOk ? counts(2, 0) : counts(1, 1), junitPaths: [], durationMs: 1 });

  it('green: health on the tag, the failing tests there, promote, then the service verified once more', function () {
    assert.deepEqual(nextShipStep(attempt()), { step: 'verify-candidate' });
    assert.deepEqual(nextShipStep(attempt({}, { verify: healthy(true) })), { step: 'test-candidate' });
    assert.deepEqual(nextShipStep(attempt({}, { verify: healthy(true), tests: tests(true) })), { step: 'promote' });
    const promoted = attempt({}, { verify: healthy(true), tests: tests(true), outcome: 'promoted' });
    assert.deepEqual(nextShipStep(promoted), { step: 'verify' });
    assert.deepEqual(nextShipStep({ ...promoted, verify: healthy(true) }), { step: 'verified' });
    assert.deepEqual(nextShipStep({ ...promoted, verify: healthy(false) }), { step: 'rollback', to: 'backend-00001-abc' }, 'the service failing after promotion rolls back');
    assert.deepEqual(nextShipStep(attempt({ verifies: false, testsCandidate: true }, { tests: tests(true) })), { step: 'promote' });
  });

  it('red: discarded, never rolled back, back to the fix team saying staging is untouched', function () {
    const unhealthy = attempt({}, { verify: healthy(false) });
    assert.deepEqual(nextShipStep(unhealthy), { step: 'discard' }, 'no tests against an unhealthy candidate');
    const back = nextShipStep(attempt({}, { verify: healthy(false), outcome: 'discarded' }));
    assert.equal(back.step, 'back-to-fix');
    assert.match((back as { why: string }).why, /^candidate failed, staging untouched: f1x \(revision backend-f1x\) failed verification on its own URL: HTTP 500: boom/);
    const failing = nextShipStep(attempt({}, { verify: healthy(true), tests: tests(false), outcome: 'discarded' }));
    assert.match((failing as { why: string }).why, /failed its tests on its own URL: 1\/2 previously failing tests still fail/);
  });

  it('a candidate that did not start: its tag removed, then as a failed deploy', function () {
    const failed = attempt({ deployFailure: { type: FailureType.DeployFailed, message: 'revision did not become ready: boom' }, deployed: null });
    assert.deepEqual(nextShipStep(failed), { step: 'discard' });
    assert.equal(nextShipStep({ ...failed, candidate: { ...failed.candidate!, outcome: 'discarded' } }).step, 'back-to-fix');
    const rejected = attempt({ deployFailure: { type: FailureType.DeployRejected, message: 'denied' }, deployed: null });
    assert.deepEqual(nextShipStep(rejected), { step: 'end' }, 'nothing to discard when the API refused');
  });
});
