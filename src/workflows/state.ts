/**
 * The loop's state as plain data, and the decisions that need no Temporal: what a diagnosis or a
 * failed verification means, what comes next. The workflow tells the story; these functions decide.
 */
import type { Category, TestCounts, Verdict } from '../diagnosis/types';

export type Phase =
  | 'testing'
  | 'diagnosing'
  | 'awaiting-fix'
  | 'deploying'
  | 'verifying'
  | 'blocked-infra'
  | 'passed'
  | 'gave-up'
  | 'cancelled';

export const FINAL_PHASES: readonly Phase[] = ['passed', 'gave-up', 'cancelled'];

export type WaitingFor = 'fix' | 'infra' | null;

export interface RunSummary extends TestCounts {
  durationMs: number;
}

export interface RootCause {
  category: Category;
  count: number;
  summary: string;
  hypothesis: string;
}

export interface FixRecord {
  commit: string;
  summary: string | null;
  author: string | null;
  receivedAt: string;
  via: 'signal' | 'update';
}

export interface DeployRecord {
  commit: string;
  kind: 'none' | 'command' | 'cloud-run';
  revision: string | null;
  previousRevision: string | null;
  alreadyServing: boolean;
  durationMs: number;
  logPath: string | null;
  /** Set when the deploy itself failed. */
  error: string | null;
}

export interface VerifyRecord {
  healthy: boolean;
  attempts: number;
  lastStatus: number | null;
  durationMs: number;
  /** Redacted, bounded: status lines, body excerpts, connection errors. */
  evidence: string[];
}

export interface RollbackRecord {
  revision: string;
  from: string | null;
  /** Health right after the rollback. */
  healthyAfter: boolean | null;
}

export interface InfraBlock {
  since: string;
  reason: string;
  restoredAt: string | null;
  restoredBy: 'signal' | 'recheck' | null;
  rechecks: number;
}

export interface CycleRecord {
  cycle: number;
  startedAt: string;
  tests: RunSummary | null;
  verdict: Verdict | null;
  rootCauses: RootCause[];
  /** Full diagnosis report (Markdown) and suite output, on the workers' reports volume. */
  reportPath: string | null;
  outputPath: string | null;
  fix: FixRecord | null;
  deploy: DeployRecord | null;
  verify: VerifyRecord | null;
  rollback: RollbackRecord | null;
  infra: InfraBlock | null;
  /** Why the cycle ended the way it did, in a sentence. */
  outcome: string | null;
}

export interface LoopStatus {
  name: string;
  phase: Phase;
  cycle: number;
  maxCycles: number;
  waitingFor: WaitingFor;
  lastRun: RunSummary | null;
  rootCauses: RootCause[];
  cycles: CycleRecord[];
  /** A fix received and not yet verified: deployed again once infrastructure is back. */
  pendingFix: FixRecord | null;
  /** Why the loop is where it is (blocked, gave up, failed to deploy), in a sentence. */
  reason: string | null;
  updatedAt: string;
}

export function initialStatus(name: string, maxCycles: number, now: Date): LoopStatus {
  return {
    name,
    phase: 'testing',
    cycle: 0,
    maxCycles,
    waitingFor: null,
    lastRun: null,
    rootCauses: [],
    cycles: [],
    pendingFix: null,
    reason: null,
    updatedAt: now.toISOString(),
  };
}

export function newCycle(cycle: number, now: Date): CycleRecord {
  return {
    cycle,
    startedAt: now.toISOString(),
    tests: null,
    verdict: null,
    rootCauses: [],
    reportPath: null,
    outputPath: null,
    fix: null,
    deploy: null,
    verify: null,
    rollback: null,
    infra: null,
    outcome: null,
  };
}

export function waitingForOf(phase: Phase): WaitingFor {
  if (phase === 'awaiting-fix') return 'fix';
  if (phase === 'blocked-infra') return 'infra';
  return null;
}

/** What a cycle's diagnosis means for the loop. */
export type AfterDiagnosis = 'passed' | 'gave-up' | 'blocked-infra' | 'retest' | 'awaiting-fix';

export function nextAfterDiagnosis(verdict: Verdict, cycle: number, maxCycles: number): AfterDiagnosis {
  if (verdict === 'passed') return 'passed';
  if (cycle >= maxCycles) return 'gave-up';
  // Infrastructure failures are never the fix team's: wait for infrastructure, then run again.
  if (verdict === 'infrastructure') return 'blocked-infra';
  // Only flaky failures: nothing to fix, run again.
  if (verdict === 'flaky') return 'retest';
  return 'awaiting-fix';
}

const INFRA_EVIDENCE =
  /\b(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|socket hang up|database|migration|tables?\b|connection pool|service unavailable|bad gateway|gateway timeout)/i;

/** Does a failed verification look like infrastructure (5xx, refused, database start-up)? */
export function looksLikeInfrastructure(verify: VerifyRecord): boolean {
  if (verify.lastStatus === null || verify.lastStatus >= 500) return true;
  return verify.evidence.some((line) => INFRA_EVIDENCE.test(line));
}

/** A deploy that failed on its own (a revision that would not start): infrastructure, or the code? */
export function deployFailureLooksLikeInfrastructure(message: string): boolean {
  return INFRA_EVIDENCE.test(message);
}

/** After a deploy failed verification (and was rolled back where possible): whose problem is it? */
export function nextAfterFailedVerify(verify: VerifyRecord, rollback: RollbackRecord | null): 'blocked-infra' | 'awaiting-fix' {
  if (rollback && rollback.healthyAfter === false) return 'blocked-infra';
  return looksLikeInfrastructure(verify) ? 'blocked-infra' : 'awaiting-fix';
}

/** Root causes of a cycle, one line each, for summaries and notifications. */
export function describeRootCauses(rootCauses: RootCause[]): string {
  if (rootCauses.length === 0) return 'no failures';
  return rootCauses.map((r) => `${r.count} × ${r.category}: ${r.summary}`).join('; ');
}
