/** The loop's decisions, without Temporal. */
import assert from 'node:assert/strict';
import { looksLikeInfrastructure, nextAfterDiagnosis, nextAfterFailedVerify, type VerifyRecord } from '../src/workflows/state';

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
});
