/** The loop's decisions, without Temporal. */
import assert from 'node:assert/strict';
import { boundedText, commitProblem, fixProblem, MESSAGE_LIMITS } from '../src/workflows/messages';
import { renderLoopReport } from '../src/workflows/report';
import {
  boundStatus,
  initialStatus,
  looksLikeInfrastructure,
  looksLikeInfrastructureText,
  nextAfterDiagnosis,
  nextAfterFailedVerify,
  nextShipStep,
  startCycle,
  STATUS_LIMITS,
  type CycleRecord,
  type FixRecord,
  type LoopStatus,
  type RootCause,
  type ShipAttempt,
  type VerifyRecord,
} from '../src/workflows/state';
import { DB_INIT_FAILURE } from '../examples/stand-ins/cloud-run';

const verify = (lastStatus: number | null, evidence: string[] = []): VerifyRecord => ({ healthy: false, attempts: 3, lastStatus, durationMs: 30_000, evidence });

describe('what comes next', function () {
  it('after a diagnosis', function () {
    assert.equal(nextAfterDiagnosis('passed', 3, 3), 'passed', 'a green last cycle passes');
    assert.equal(nextAfterDiagnosis('code', 1, 10), 'awaiting-fix');
    assert.equal(nextAfterDiagnosis('mixed', 1, 10), 'awaiting-fix');
    assert.equal(nextAfterDiagnosis('infrastructure', 1, 10), 'blocked-infra', 'infrastructure never goes to the fix team');
    assert.equal(nextAfterDiagnosis('flaky', 1, 10), 'retest');
    assert.equal(nextAfterDiagnosis('code', 10, 10), 'gave-up');
  });

  it('after a failed verification', function () {
    assert.equal(nextAfterFailedVerify(verify(503), null), 'blocked-infra');
    assert.equal(nextAfterFailedVerify(verify(null, ['no answer after 3 ms: ECONNREFUSED']), null), 'blocked-infra');
    assert.equal(nextAfterFailedVerify(verify(404, ['HTTP 404 in 3 ms: not found']), null), 'awaiting-fix', 'a missing route is the code');
    assert.equal(
      nextAfterFailedVerify(verify(404), { revision: 'backend-00185-vcc', from: 'backend-00186-abc', healthyAfter: false }),
      'blocked-infra',
      'unhealthy after the rollback too: staging itself is down',
    );
  });

  it('reads infrastructure in the evidence', function () {
    assert.ok(looksLikeInfrastructure(verify(500)));
    assert.ok(looksLikeInfrastructure(verify(409, ['HTTP 409: Database initialization failed: Failed to create tables'])));
    assert.ok(!looksLikeInfrastructure(verify(401, ['HTTP 401: Token validation failed'])));
  });

  it('reads a deploy\'s error with the diagnosis engine\'s rules', function () {
    // The seed's revision that could not create its tables, and a platform that did not answer: infrastructure.
    assert.ok(looksLikeInfrastructureText(`Cloud Run revision backend-00002-abc of commit 176ad633b did not become ready: ${DB_INIT_FAILURE}`));
    assert.ok(looksLikeInfrastructureText('HTTP 503 Service Unavailable from the load balancer'));
    assert.ok(looksLikeInfrastructureText('connect ECONNREFUSED 10.0.0.7:5432 (postgres)'));
    // The new code's own start-up failed: the fix team's.
    assert.ok(!looksLikeInfrastructureText("deploy.command exited with code 3 for commit broken: build failed: Cannot find module './ws-auth'"));
    assert.ok(!looksLikeInfrastructureText('revision did not become ready: TypeError: Cannot read properties of undefined (reading \'jwt\') at startServer (src/app.ts:41:7)'));
    // A word alone is no evidence: a table in a test name, a log line about a migration that worked.
    assert.ok(!looksLikeInfrastructureText('deploy failed: AssertionError: expected the pricing table to list 3 plans'));
  });
});

describe('shipping a fix, step by step', function () {
  const attempt = (over: Partial<ShipAttempt> = {}): ShipAttempt => ({
    commit: '176ad633b',
    deployFailure: null,
    deployed: { revision: 'backend-00002-new', previousRevision: 'backend-00001-old' },
    verifies: true,
    verify: null,
    rollback: null,
    ...over,
  });
  const healthy: VerifyRecord = { healthy: true, attempts: 1, lastStatus: 200, durationMs: 5, evidence: ['HTTP 200 in 5 ms'] };

  it('deployed: verify, then done when staging is healthy', function () {
    assert.deepEqual(nextShipStep(attempt()), { step: 'verify' });
    assert.deepEqual(nextShipStep(attempt({ verify: healthy })), { step: 'verified' });
    assert.deepEqual(nextShipStep(attempt({ verifies: false })), { step: 'verified' }, 'no verify.url: deployed is done');
    assert.deepEqual(nextShipStep(attempt({ deployed: null, verifies: false })), { step: 'verified' }, 'deploy.kind none');
  });

  it('unhealthy: roll back once, then whose problem it is', function () {
    const down = verify(503, ['HTTP 503 in 3 ms: {"error":"Database initialization failed"}']);
    assert.deepEqual(nextShipStep(attempt({ verify: down })), { step: 'rollback', to: 'backend-00001-old' });
    const rollback = { revision: 'backend-00001-old', from: 'backend-00002-new', healthyAfter: true };
    const after = nextShipStep(attempt({ verify: down, rollback }));
    assert.equal(after.step, 'wait-infra');
    assert.match((after as { why: string }).why, /^staging unhealthy after deploying 176ad633b: HTTP 503 .* Rolled back to backend-00001-old\.$/);
    // Nothing to roll back to (a command deployer, or the same revision still serving).
    assert.equal(nextShipStep(attempt({ deployed: { revision: null, previousRevision: null }, verify: down })).step, 'wait-infra');
    assert.equal(nextShipStep(attempt({ deployed: { revision: 'r1', previousRevision: 'r1' }, verify: down })).step, 'wait-infra');
    const missing = nextShipStep(attempt({ verify: verify(404, ['HTTP 404 in 3 ms: not found']), rollback }));
    assert.deepEqual(missing, { step: 'back-to-fix', why: '176ad633b deployed but staging failed verification: HTTP 404 in 3 ms: not found' });
  });

  it('a failed deploy: back to the fix team, wait out infrastructure, or end', function () {
    const failed = (type: string | null, message: string) => nextShipStep(attempt({ deployed: null, deployFailure: { type, message } }));
    assert.deepEqual(failed('DeployFailed', 'deploy.command exited with code 3: SyntaxError'), {
      step: 'back-to-fix',
      why: 'deploy of 176ad633b failed: deploy.command exited with code 3: SyntaxError',
    });
    assert.deepEqual(failed('DeployFailed', `did not become ready: ${DB_INIT_FAILURE}`), {
      step: 'wait-infra',
      why: `deploy of 176ad633b failed on infrastructure: did not become ready: ${DB_INIT_FAILURE}`,
    });
    assert.deepEqual(failed('DeployUnavailable', 'UNAVAILABLE: connection refused'), {
      step: 'wait-infra',
      why: 'deploy of 176ad633b could not reach the platform: UNAVAILABLE: connection refused',
    });
    assert.deepEqual(failed(null, 'activity StartToClose timeout'), {
      step: 'wait-infra',
      why: 'deploy of 176ad633b could not reach the platform: activity StartToClose timeout',
    });
    // No retry and no fix can help: the loop ends with the failure as it is (a BadInput stays one).
    assert.deepEqual(failed('DeployRejected', 'Permission run.services.get denied'), { step: 'end' });
    assert.deepEqual(failed('BadInput', 'deploy.kind "command" cannot roll back'), { step: 'end' });
  });
});

describe('the status stays bounded', function () {
  // Texts far over every limit, with characters that take two bytes in UTF-8 or in JSON.
  const huge = (n: number) => 'é"| '.repeat(Math.ceil(n / 4)).slice(0, n);
  const HUGE = huge(1_200_000);
  const KB = 1024;

  /** Fills a cycle the way the workflow does, with everything at its worst. */
  function worstCycle(s: LoopStatus, c: CycleRecord): void {
    const fix: FixRecord = { commit: 'f'.repeat(400), summary: HUGE, author: HUGE, receivedAt: c.startedAt, via: 'signal' };
    const rootCauses: RootCause[] = Array.from({ length: 30 }, (_, i) => ({
      category: i % 2 ? 'websocket-handshake' : 'service-unavailable',
      count: 24,
      summary: HUGE,
      hypothesis: HUGE,
    }));
    Object.assign(c, {
      tests: { total: 10_000, passed: 1, failed: 9_999, errored: 0, skipped: 0, flaky: 0, durationMs: 3_600_000 },
      verdict: 'mixed',
      rootCauses,
      reportPath: HUGE,
      outputPath: HUGE,
      fix,
      deploy: { commit: HUGE, kind: 'cloud-run', revision: HUGE, previousRevision: HUGE, alreadyServing: false, durationMs: 1, logPath: HUGE, error: HUGE },
      verify: { healthy: false, attempts: 500, lastStatus: 503, durationMs: 1, evidence: Array.from({ length: 100 }, () => HUGE) },
      rollback: { revision: HUGE, from: HUGE, healthyAfter: false },
      infra: { since: c.startedAt, reason: HUGE, restoredAt: null, restoredBy: null, rechecks: 3 },
      outcome: HUGE,
    });
    s.lastRun = c.tests;
    s.rootCauses = rootCauses;
    s.pendingFix = { ...fix };
    s.reason = HUGE;
  }

  it('keeps status and report far under the 2 MB payload limit after 1000 cycles of the worst', function () {
    const s = initialStatus('netra-staging', 1000, new Date('2026-11-26T12:00:00Z'));
    for (let i = 0; i < 1000; i++) {
      worstCycle(s, startCycle(s, new Date(Date.UTC(2026, 10, 26, 12, i))));
      boundStatus(s); // as every phase change does
    }
    const statusBytes = Buffer.byteLength(JSON.stringify(s));
    const reportBytes = Buffer.byteLength(renderLoopReport(s));
    console.log(`      status ${(statusBytes / KB).toFixed(0)} KB, report ${(reportBytes / KB).toFixed(0)} KB`);
    assert.ok(statusBytes < 512 * KB, `status is ${statusBytes} bytes`);
    assert.ok(reportBytes < 512 * KB, `report is ${reportBytes} bytes`);
    assert.ok(statusBytes > 100 * KB, 'the worst case really is big (the test measures something)');

    assert.equal(s.cycle, 1000);
    assert.equal(s.cycles.length, STATUS_LIMITS.fullCycles + STATUS_LIMITS.compactCycles);
    assert.deepEqual(
      s.cycles.map((c) => c.cycle),
      Array.from({ length: s.cycles.length }, (_, i) => 1000 - s.cycles.length + 1 + i),
      'the newest cycles, in order',
    );
    const latest = s.cycles[s.cycles.length - 1];
    assert.equal(latest.compacted, undefined, 'the latest cycle is kept in full');
    assert.equal(latest.rootCauses.length, STATUS_LIMITS.rootCauses);
    assert.match(latest.fix!.summary!, /…$/);
    assert.ok(latest.fix!.summary!.length <= MESSAGE_LIMITS.summary);
    assert.equal(latest.verify!.evidence.length, STATUS_LIMITS.evidenceLines);
    const old = s.cycles[0];
    assert.equal(old.compacted, true);
    assert.deepEqual({ verdict: old.verdict, failed: old.tests?.failed, categories: old.rootCauses.map((r) => r.category).slice(0, 2) }, {
      verdict: 'mixed',
      failed: 9_999,
      categories: ['service-unavailable', 'websocket-handshake'],
    });
    assert.ok(old.fix!.commit.length <= MESSAGE_LIMITS.commit && old.fix!.summary === null && old.deploy === null);
    assert.deepEqual(s.earlierCycles, {
      cycles: 1000 - s.cycles.length,
      verdicts: { mixed: 1000 - s.cycles.length },
      categories: { 'service-unavailable': 24 * 5 * (1000 - s.cycles.length), 'websocket-handshake': 24 * 5 * (1000 - s.cycles.length) },
      fixes: 1000 - s.cycles.length,
    });
    assert.match(renderLoopReport(s), new RegExp(`## The ${1000 - s.cycles.length} earliest cycles`));
  });

  it('bounds in place: the workflow keeps references to the current cycle, its fix and its block', function () {
    const s = initialStatus('x', 10, new Date());
    const c = startCycle(s, new Date());
    worstCycle(s, c);
    const fix = s.pendingFix!;
    const block = c.infra!;
    boundStatus(s);
    assert.equal(s.cycles[0], c);
    assert.equal(s.pendingFix, fix);
    assert.equal(c.infra, block);
    assert.ok(block.reason.length <= STATUS_LIMITS.text);
    const once = JSON.stringify(s);
    boundStatus(s);
    assert.equal(JSON.stringify(s), once, 'bounding twice changes nothing');
  });

  it('takes a status carried from a version without earlierCycles', function () {
    const s = initialStatus('x', 10, new Date()) as Partial<LoopStatus>;
    delete s.earlierCycles;
    boundStatus(s as LoopStatus);
    assert.equal(s.earlierCycles, null);
  });
});

describe('what a fix message may carry', function () {
  it('a commit SHA or an image tag', function () {
    for (const ok of ['176ad633b', 'a'.repeat(40), 'v1.2.3', 'release_2026-11-26', 'A'.repeat(128)]) assert.equal(commitProblem(ok), null, ok);
    assert.equal(commitProblem(' 176ad633b '), null, 'surrounding blanks are trimmed');
    for (const bad of ['abc def', '-rf', '.hidden', 'a'.repeat(129), 'sha;rm -rf /', 'x/y', 'a:b', '']) {
      assert.match(commitProblem(bad)!, /^commit: /, JSON.stringify(bad));
    }
    assert.match(commitProblem('abc def')!, /"abc def" is not a commit SHA or image tag/);
    assert.match(commitProblem(undefined)!, /must be a non-empty commit/);
    assert.ok(commitProblem('x'.repeat(100_000))!.length < 300, 'the reason quotes a long commit only in part');
  });

  it('summary and author within their limits, said so with the figures', function () {
    assert.equal(fixProblem({ commit: 'abc', summary: 's'.repeat(MESSAGE_LIMITS.summary), author: 'a'.repeat(MESSAGE_LIMITS.author) }), null);
    assert.match(fixProblem({ commit: 'abc', summary: 's'.repeat(1_200_000) })!, /^summary: 1200000 characters, at most 2000/);
    assert.match(fixProblem({ commit: 'abc', author: 'a'.repeat(201) })!, /^author: 201 characters, at most 200/);
    assert.match(fixProblem({ commit: 'abc', summary: 42 })!, /^summary: must be a string/);
    assert.match(fixProblem(null)!, /must be an object/);
  });

  it('a signal cannot be refused: its text is cut, saying so', function () {
    const cut = boundedText('summary', 'x'.repeat(1_200_000))!;
    assert.ok(cut.length <= MESSAGE_LIMITS.summary);
    assert.match(cut, /\[truncated from 1200000 characters\]$/);
    assert.equal(boundedText('note', 'db migrated'), 'db migrated');
    assert.equal(boundedText('reason', { not: 'text' }), null);
  });
});
