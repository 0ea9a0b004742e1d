/**
 * verify-then-promote's decisions: a candidate revision, deployed with no traffic under a tag, is
 * checked on the tag's URL (health, then the failing tests), and only then promoted; a candidate that
 * fails is discarded (its tag removed) and never served anyone. Pure, like the rest of ./state.ts.
 */
import { FailureType } from '../errors';
import type { FailingTestsRecord } from './failed-first';
import type { ShipAttempt, ShipStep, VerifyRecord } from './state';

export interface CandidateRecord {
  tag: string;
  /** Known once deployed. */
  revision: string | null;
  /** The tag's URL: verification and $STAGING_URL of the candidate's tests. */
  url: string | null;
  /** Health on the tag's URL (verify.url's path there). */
  verify: VerifyRecord | null;
  /** The failing tests against the tag's URL (verify.suite). */
  tests: FailingTestsRecord | null;
  outcome: 'promoted' | 'discarded' | null;
}

export type CandidateStep = Extract<ShipStep, { step: 'verify-candidate' | 'test-candidate' | 'promote' | 'discard' }>;

export function isCandidateStep(s: ShipStep): s is CandidateStep {
  return s.step === 'verify-candidate' || s.step === 'test-candidate' || s.step === 'promote' || s.step === 'discard';
}

/**
 * The candidate's next step, or null when shipping goes on as for a direct deploy: after promotion
 * (verify the service, roll back if it fails) or after a failed candidate deploy was cleaned up.
 */
export function nextCandidateStep(a: ShipAttempt): ShipStep | null {
  const c = a.candidate;
  if (!c) return null;
  if (a.deployFailure) {
    // A revision that did not become ready may still carry the tag.
    return a.deployFailure.type === FailureType.DeployFailed && c.outcome === null ? { step: 'discard' } : null;
  }
  if (c.outcome === 'promoted') return null;
  if (a.verifies && !c.verify) return { step: 'verify-candidate' };
  const unhealthy = c.verify !== null && !c.verify.healthy;
  if (!unhealthy && a.testsCandidate && !c.tests) return { step: 'test-candidate' };
  const testsFailed = c.tests !== null && c.tests.verdict !== 'fixed';
  if (!unhealthy && !testsFailed) return { step: 'promote' };
  if (c.outcome !== 'discarded') return { step: 'discard' };
  const what = unhealthy
    ? `failed verification on its own URL: ${c.verify!.evidence[c.verify!.evidence.length - 1] ?? 'no answer'}`
    : `failed its tests on its own URL: ${c.tests!.summary}`;
  return { step: 'back-to-fix', why: `candidate failed, staging untouched: ${a.commit} (revision ${c.revision}) ${what}` };
}
