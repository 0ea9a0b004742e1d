/**
 * The loop's state as plain data, and the decisions that need no Temporal: what a diagnosis or a
 * failed verification means, what comes next. The workflow tells the story; these functions decide.
 */
import type { Category, TestCounts, Verdict } from '../diagnosis/types';
import { classifyText, isInfrastructure } from '../diagnosis/categorize';
import { clipText } from '../diagnosis/redact';
import { FailureType, NON_RETRYABLE_TYPES } from '../errors';
import { boundCauseIds, boundFixClaims, type CycleDiff, type Escalation, type HandoffMemory } from '../handoff/types';
import type { FailingTestsRecord } from './failed-first';
import { MESSAGE_LIMITS } from './messages';
import { nextCandidateStep, type CandidateRecord } from './promote';
import { noTimeSpent, startTime, type LoopTime, type TimeSpent } from './time';

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

/** `people`: a hand-off was escalated (src/handoff/guards.ts); the loop still takes a fix. */
export type WaitingFor = 'fix' | 'infra' | 'people' | null;

export interface RunSummary extends TestCounts {
  durationMs: number;
}

export interface RootCause {
  category: Category;
  count: number;
  summary: string;
  hypothesis: string;
  /** Stable across cycles and loops (src/handoff/fingerprint.ts); absent in loops diagnosed before it existed. */
  fingerprint?: string;
  /** A few of its test ids; all of them are in the hand-off file. */
  tests?: string[];
}

export interface FixRecord {
  commit: string;
  summary: string | null;
  author: string | null;
  receivedAt: string;
  via: 'signal' | 'update';
  /** The fingerprints the fix says it addresses (empty: it does not say). */
  addresses?: string[];
  prUrl?: string | null;
  branch?: string | null;
  /** The coding agent that made it; null: a person. */
  agent?: string | null;
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

/** The service's own error logs, read when a deploy or its verification failed. */
export interface ServiceLogsRecord {
  source: 'cloud-logging' | 'command';
  revision: string | null;
  /** Entries read, before de-duplication. */
  read: number;
  /** The top distinct entries (redacted, bounded), most frequent first. */
  top: { text: string; count: number }[];
  /** What they say: the platform's failure, the new code's own, or nothing conclusive. */
  verdict: 'infrastructure' | 'code' | null;
  /** The diagnosis engine's category of the entry that decided, and that entry. */
  category: Category | null;
  decidingEntry: string | null;
  /** Why no logs could be read. */
  error: string | null;
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
  /** Absent in cycles recorded before service logs were read. */
  serviceLogs?: ServiceLogsRecord | null;
  /** Where this cycle's time went; absent in cycles recorded before time was accounted. */
  time?: TimeSpent;
  /** Why the cycle ended the way it did, in a sentence. */
  outcome: string | null;
  /** verify-then-promote: the fix's candidate revision, checked on its tag's URL before any traffic. */
  candidate?: CandidateRecord | null;
  /** After a verified fix: the previous failures, run before the full suite (the early verdict). */
  failedFirst?: FailingTestsRecord | null;
  /** An older cycle kept short (counts, verdict, root-cause categories, fix commit, outcome); details in reportPath. */
  compacted?: true;
  /** Root causes against the cycle before (src/handoff/diff.ts). */
  diff?: CycleDiff | null;
  /** The last time this cycle's hand-off was escalated to people. */
  escalation?: Escalation | null;
}

/** Cycles older than the ones `cycles` keeps, counted. */
export interface EarlierCycles {
  cycles: number;
  verdicts: Partial<Record<Verdict, number>>;
  /** Failures per root-cause category, over those cycles. */
  categories: Partial<Record<Category, number>>;
  fixes: number;
}

export interface LoopStatus {
  name: string;
  phase: Phase;
  cycle: number;
  maxCycles: number;
  waitingFor: WaitingFor;
  lastRun: RunSummary | null;
  rootCauses: RootCause[];
  /** The newest cycles: the latest in full, older ones compacted. */
  cycles: CycleRecord[];
  /** What happened before the oldest cycle in `cycles`; null until there is such a cycle. */
  earlierCycles: EarlierCycles | null;
  /** A fix received and not yet verified: deployed again once infrastructure is back. */
  pendingFix: FixRecord | null;
  /** Why the loop is where it is (blocked, gave up, failed to deploy), in a sentence. */
  reason: string | null;
  updatedAt: string;
  /** What the hand-off guards remember across cycles; absent in loops started before them. */
  handoff?: HandoffMemory;
  /** Where the loop's time went (src/workflows/time.ts); absent in a status carried from before. */
  time?: LoopTime;
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
    earlierCycles: null,
    pendingFix: null,
    reason: null,
    updatedAt: now.toISOString(),
    time: startTime(now),
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
    serviceLogs: null,
    time: noTimeSpent(),
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

/** Text (a health check's answer, a deploy's error) that the diagnosis engine's rules call infrastructure. */
export function looksLikeInfrastructureText(text: string): boolean {
  return isInfrastructure(classifyText(text).category);
}

/** Does a failed verification look like infrastructure (5xx, no answer, a database that would not start)? */
export function looksLikeInfrastructure(verify: VerifyRecord): boolean {
  if (verify.lastStatus === null || verify.lastStatus >= 500) return true;
  return verify.evidence.some(looksLikeInfrastructureText);
}

/** After a deploy failed verification (and was rolled back where possible): whose problem is it? */
export function nextAfterFailedVerify(verify: VerifyRecord, rollback: RollbackRecord | null): 'blocked-infra' | 'awaiting-fix' {
  if (rollback && rollback.healthyAfter === false) return 'blocked-infra';
  return looksLikeInfrastructure(verify) ? 'blocked-infra' : 'awaiting-fix';
}

/**
 * Whether the loop can read a deploy's service logs: Cloud Logging for Cloud Run (a loop pointed at a
 * Cloud Run stand-in reads logs only from a Logging stand-in, never the real API), verify.logsCommand otherwise.
 */
export function readsServiceLogs(deploy: { kind: string; endpoint?: string | null; logsEndpoint?: string | null }, verify: { logsCommand?: string | null }): boolean {
  if (verify.logsCommand) return true;
  return deploy.kind === 'cloud-run' && (!deploy.endpoint || Boolean(deploy.logsEndpoint));
}

/** An exception with its stack, as a process's start-up prints it (Python, Node, JVM, Go). */
const EXCEPTION = /Traceback \(most recent call last\)|\n\s+at \S|\n\s+File "|\b[A-Z]\w*(?:Error|Exception)\b:|^panic: /m;

/**
 * What a service's error logs say, in the diagnosis engine's words: an entry it calls infrastructure
 * (a database that would not start, a dependency refusing connections) decides for infrastructure;
 * otherwise an exception in the new code's own start-up is the code's failure; otherwise nothing.
 */
export function judgeServiceLogs(top: readonly { text: string }[]): Pick<ServiceLogsRecord, 'verdict' | 'category' | 'decidingEntry'> {
  const judged = top.map((e) => ({ text: e.text, category: classifyText(e.text).category }));
  const infra = judged.find((e) => isInfrastructure(e.category));
  if (infra) return { verdict: 'infrastructure', category: infra.category, decidingEntry: infra.text };
  const code = judged.find((e) => EXCEPTION.test(e.text));
  if (code) return { verdict: 'code', category: code.category, decidingEntry: code.text };
  return { verdict: null, category: null, decidingEntry: null };
}

/** One attempt at shipping the pending fix, as far as it has got. */
export interface ShipAttempt {
  commit: string;
  /** Why the deploy failed (its failure type, when it had one of ours), or null when it deployed. */
  deployFailure: { type: string | null; message: string } | null;
  /** What the deploy reported; null for deploy.kind "none". */
  deployed: { revision: string | null; previousRevision: string | null } | null;
  /** verify.url is set. */
  verifies: boolean;
  verify: VerifyRecord | null;
  rollback: RollbackRecord | null;
  /** The service's logs can be read after a failure (absent in attempts from before they were). */
  readsLogs?: boolean;
  /** The service's logs once read (undefined: not read yet). */
  logs?: ServiceLogsRecord | null;
  /** verify-then-promote: the candidate, as far as it has got. */
  candidate?: CandidateRecord;
  /** verify.suite: the failing tests run against the candidate too. */
  testsCandidate?: boolean;
}

/** The next step of shipping a fix; `why` is the outcome or block reason in a sentence. */
export type ShipStep =
  | { step: 'verify' }
  | { step: 'rollback'; to: string }
  /** Read the new revision's error logs: they say whose failure it is. */
  | { step: 'logs' }
  | { step: 'verified' }
  | { step: 'back-to-fix'; why: string }
  | { step: 'wait-infra'; why: string }
  | { step: 'verify-candidate' }
  | { step: 'test-candidate' }
  | { step: 'promote' }
  | { step: 'discard' }
  /** A deploy no retry and no fix can help (configuration, permissions): the loop ends with its failure. */
  | { step: 'end' };

/** After each step of shipping a fix: what comes next. */
export function nextShipStep(a: ShipAttempt): ShipStep {
  const candidate = nextCandidateStep(a);
  if (candidate) return candidate;
  const f = a.deployFailure;
  const needsLogs = a.readsLogs && a.logs === undefined;
  const logs = a.logs?.verdict ? a.logs : null;
  if (f) {
    if (f.type === FailureType.DeployFailed) {
      if (needsLogs) return { step: 'logs' };
      if (logs?.verdict === 'infrastructure') return { step: 'wait-infra', why: `deploy of ${a.commit} failed on infrastructure, the service's logs say: ${logs.decidingEntry}` };
      if (logs?.verdict === 'code') return { step: 'back-to-fix', why: `deploy of ${a.commit} failed: its start-up threw (service logs): ${logs.decidingEntry}` };
      // The seed's case: the revision could not start its database. Not the fix's fault.
      if (looksLikeInfrastructureText(f.message)) return { step: 'wait-infra', why: `deploy of ${a.commit} failed on infrastructure: ${f.message}` };
      return { step: 'back-to-fix', why: `deploy of ${a.commit} failed: ${f.message}` };
    }
    if (NON_RETRYABLE_TYPES.includes(f.type as FailureType)) return { step: 'end' };
    // Transient errors outlasted their retries: the platform is down.
    return { step: 'wait-infra', why: `deploy of ${a.commit} could not reach the platform: ${f.message}` };
  }
  if (!a.verifies) return { step: 'verified' };
  const v = a.verify;
  if (!v) return { step: 'verify' };
  if (v.healthy) return { step: 'verified' };
  // Read before a rollback moves traffic away: the failing revision's own words.
  if (needsLogs) return { step: 'logs' };
  const previous = a.deployed?.previousRevision;
  if (!a.rollback && previous && a.deployed?.revision !== previous) return { step: 'rollback', to: previous };
  const evidence = v.evidence[v.evidence.length - 1] ?? 'no answer';
  const rolledBack = a.rollback ? ` Rolled back to ${a.rollback.revision}.` : '';
  // The new code's own exception, and going back to the previous revision helped (or was not possible).
  if (logs?.verdict === 'code' && a.rollback?.healthyAfter !== false) {
    return { step: 'back-to-fix', why: `${a.commit} deployed but its start-up threw (service logs): ${logs.decidingEntry}${rolledBack}` };
  }
  if (logs?.verdict === 'infrastructure') {
    return { step: 'wait-infra', why: `staging unhealthy after deploying ${a.commit} (${evidence}); the service's logs say: ${logs.decidingEntry}.${rolledBack}` };
  }
  if (nextAfterFailedVerify(v, a.rollback) === 'awaiting-fix') {
    return { step: 'back-to-fix', why: `${a.commit} deployed but staging failed verification: ${evidence}` };
  }
  return { step: 'wait-infra', why: `staging unhealthy after deploying ${a.commit}: ${evidence}.${rolledBack}` };
}

/** Root causes of a cycle, one line each, for summaries and notifications. */
export function describeRootCauses(rootCauses: RootCause[]): string {
  if (rootCauses.length === 0) return 'no failures';
  return boundedReason(rootCauses.map((r) => `${r.count} × ${r.category}: ${r.summary}`).join('; '));
}

/**
 * Every field of the status enters query results, the saved report and (carried through
 * continue-as-new) workflow history: bounded so they stay far below Temporal's 2 MB payload limit at
 * any cycle count, whatever activities and messages hand in.
 */
export const STATUS_LIMITS = {
  /** Reasons, outcomes, deploy errors, failure messages. */
  text: 2000,
  rootCauses: 10,
  rootCauseText: 240,
  evidenceLines: 6,
  evidenceLine: 300,
  /** Service log entries kept, and characters per entry (room for a short stack trace). */
  logEntries: 5,
  logEntry: 1200,
  /** Paths, revision names. */
  name: 500,
  /** A compacted cycle's outcome. */
  compactOutcome: 200,
  /** Cycles kept in full, then compacted; older ones are only counted in earlierCycles. */
  fullCycles: 5,
  compactCycles: 45,
} as const;

const L = STATUS_LIMITS;
const clip = (text: string, max: number) => clipText(text, max, '…');
/** A reason, outcome or failure message as the status keeps it. */
export const boundedReason = (text: string) => clip(text, L.text);
const clipOrNull = (text: string | null, max: number) => (text === null ? null : clip(text, max));

function boundRootCauses(rootCauses: RootCause[], compact = false): RootCause[] {
  return rootCauses.slice(0, L.rootCauses).map((r) => ({
    category: r.category,
    count: r.count,
    summary: compact ? '' : clip(r.summary, L.rootCauseText),
    hypothesis: compact ? '' : clip(r.hypothesis, L.rootCauseText),
    ...boundCauseIds(r, compact),
  }));
}

// In place: the workflow holds references to the current cycle, its fix and its infrastructure block.
function boundFix(fix: FixRecord | null, compact = false): void {
  if (!fix) return;
  fix.commit = clip(fix.commit, MESSAGE_LIMITS.commit);
  fix.summary = compact ? null : clipOrNull(fix.summary, MESSAGE_LIMITS.summary);
  fix.author = compact ? null : clipOrNull(fix.author, MESSAGE_LIMITS.author);
  boundFixClaims(fix, compact);
}

/** Bounds a cycle's free text in place; `compact` keeps only its gist. */
function boundCycle(c: CycleRecord, compact = false): void {
  c.rootCauses = boundRootCauses(c.rootCauses, compact);
  c.reportPath = clipOrNull(c.reportPath, L.name);
  c.outcome = clipOrNull(c.outcome, compact ? L.compactOutcome : L.text);
  if (compact) {
    // A copy: a fix still pending many cycles later is the same object, and keeps its summary there.
    if (c.fix) c.fix = { ...c.fix };
    boundFix(c.fix, true);
    if (c.diff) c.diff = null;
    if (c.escalation) c.escalation = null;
    Object.assign(c, { outputPath: null, deploy: null, verify: null, rollback: null, infra: null, serviceLogs: null, compacted: true });
    delete c.candidate;
    delete c.failedFirst;
    return;
  }
  c.outputPath = clipOrNull(c.outputPath, L.name);
  boundFix(c.fix);
  const d = c.deploy;
  if (d) {
    d.commit = clip(d.commit, MESSAGE_LIMITS.commit);
    d.revision = clipOrNull(d.revision, L.name);
    d.previousRevision = clipOrNull(d.previousRevision, L.name);
    d.logPath = clipOrNull(d.logPath, L.name);
    d.error = clipOrNull(d.error, L.text);
  }
  const v = c.verify;
  if (v) {
    // The first answer and the latest ones: how it started and how it ended.
    const kept = v.evidence.length > L.evidenceLines ? [v.evidence[0], ...v.evidence.slice(1 - L.evidenceLines)] : v.evidence;
    v.evidence = kept.map((e) => clip(e, L.evidenceLine));
  }
  if (c.rollback) {
    c.rollback.revision = clip(c.rollback.revision, L.name);
    c.rollback.from = clipOrNull(c.rollback.from, L.name);
  }
  if (c.infra) c.infra.reason = clip(c.infra.reason, L.text);
  const logs = c.serviceLogs;
  if (logs) {
    logs.revision = clipOrNull(logs.revision, L.name);
    logs.top = logs.top.slice(0, L.logEntries).map((e) => ({ text: clip(e.text, L.logEntry), count: e.count }));
    logs.decidingEntry = clipOrNull(logs.decidingEntry, L.logEntry);
    logs.error = clipOrNull(logs.error, L.text);
  }
}

function countInto<K extends string>(counts: Partial<Record<K, number>>, key: K, n = 1): void {
  counts[key] = (counts[key] ?? 0) + n;
}

/**
 * Bounds the status in place (idempotent; the workflow calls it on every phase change): free text
 * clipped, the newest cycles kept in full, older ones compacted, the oldest only counted.
 */
export function boundStatus(s: LoopStatus): void {
  s.reason = clipOrNull(s.reason, L.text);
  s.rootCauses = boundRootCauses(s.rootCauses);
  boundFix(s.pendingFix);
  // A status carried from a version without it.
  s.earlierCycles ??= null;
  const dropped = s.cycles.splice(0, Math.max(0, s.cycles.length - L.fullCycles - L.compactCycles));
  if (dropped.length) {
    const earlier: EarlierCycles = s.earlierCycles ?? { cycles: 0, verdicts: {}, categories: {}, fixes: 0 };
    for (const c of dropped) {
      earlier.cycles++;
      if (c.verdict) countInto(earlier.verdicts, c.verdict);
      for (const r of c.rootCauses) countInto(earlier.categories, r.category, r.count);
      if (c.fix) earlier.fixes++;
    }
    s.earlierCycles = earlier;
  }
  const firstFull = s.cycles.length - L.fullCycles;
  s.cycles.forEach((c, i) => boundCycle(c, i < firstFull));
}

/** The next cycle begins: counted, recorded, and the status kept within its bounds. */
export function startCycle(s: LoopStatus, now: Date): CycleRecord {
  s.cycle++;
  s.cycles.push(newCycle(s.cycle, now));
  boundStatus(s);
  return s.cycles[s.cycles.length - 1];
}
