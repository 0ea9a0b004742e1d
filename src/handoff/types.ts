/**
 * The hand-off contract's plain data, its bounds and the few names clients and the workflow share.
 * Pure (no node: imports): the workflow bundles it.
 */
import type { Category } from '../diagnosis/types';

/** The hand-off document's version: bumped on any change a consumer could trip over; additions of optional fields keep it. */
export const HANDOFF_SCHEMA_VERSION = 1;

/** A root cause's fingerprint: 16 hex digits of sha256(category, normalised signature). */
export const FINGERPRINT_PATTERN = /^[0-9a-f]{16}$/;

/** Everything here enters workflow history or the status: bounded. */
export const HANDOFF_LIMITS = {
  /** Test ids per root cause kept in history (the hand-off file has the rest). */
  sampleTests: 3,
  testId: 200,
  /** Fingerprints one fix may name. */
  addresses: 20,
  url: 500,
  branch: 200,
  agent: 200,
  /** Fingerprints and deployed commits a loop remembers (oldest forgotten first). */
  seen: 500,
  deployed: 200,
} as const;

export type DiffKind = 'fixed' | 'still-failing' | 'new' | 'regressed';

/** One root cause compared with the cycle before. */
export interface DiffEntry {
  fingerprint: string;
  category: Category;
  /** Failures now (0 when fixed) and in the cycle before. */
  count: number;
  before: number;
  /** The commit deployed between the two cycles, if one was. */
  fix: string | null;
  /** That fix said it addresses this root cause. */
  claimed: boolean;
}

/**
 * Root causes against the previous cycle: fixed, still failing, new, and regressed (not failing in
 * the cycle before, failing now after a deploy, or failing again after it had been fixed).
 */
export interface CycleDiff {
  /** The cycle compared with; null for the first. */
  since: number | null;
  fixed: DiffEntry[];
  stillFailing: DiffEntry[];
  new: DiffEntry[];
  regressed: DiffEntry[];
}

export type EscalationKind = 'cannot-fix' | 'max-attempts' | 'handoff-failed' | 'agent-timeout';

/** The loop asked people to step in; it keeps waiting for a fix meanwhile. */
export interface Escalation {
  kind: EscalationKind;
  at: string;
  reason: string;
  fingerprints: string[];
  /** Who gave up (cannotFix's agent), when someone did. */
  by: string | null;
}

/** What the guards remember across cycles (and continue-as-new): bounded lists. */
export interface HandoffMemory {
  /** Fingerprints this loop has diagnosed. */
  seen: string[];
  /** Commits deployed successfully in this loop. */
  deployed: string[];
  /** Verified fixes that claimed a fingerprint which still failed afterwards, per fingerprint. */
  attempts: Record<string, number>;
  /** The current escalation; cleared when a fix arrives. */
  escalation: Escalation | null;
}

export function emptyMemory(): HandoffMemory {
  return { seen: [], deployed: [], attempts: {}, escalation: null };
}

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** A root cause's fingerprint and sample ids as the status keeps them. */
export function boundCauseIds(r: { fingerprint?: string; tests?: string[] }, compact: boolean): { fingerprint?: string; tests?: string[] } {
  const out: { fingerprint?: string; tests?: string[] } = {};
  if (r.fingerprint !== undefined) out.fingerprint = r.fingerprint.slice(0, 16);
  if (r.tests !== undefined && !compact) out.tests = r.tests.slice(0, HANDOFF_LIMITS.sampleTests).map((t) => clip(t, HANDOFF_LIMITS.testId));
  return out;
}

/** Keeps the newest `max` entries of a list that only grows. */
export function keepNewest<T>(list: T[], max: number): T[] {
  return list.length > max ? list.slice(list.length - max) : list;
}

/** A fix's claims as the status keeps them, in place (a compacted cycle keeps what it addressed and who). */
export function boundFixClaims(fix: { addresses?: string[]; prUrl?: string | null; branch?: string | null; agent?: string | null }, compact: boolean): void {
  if (fix.addresses) fix.addresses = fix.addresses.slice(0, HANDOFF_LIMITS.addresses).map((a) => a.slice(0, 16));
  if (fix.prUrl) fix.prUrl = compact ? null : clip(fix.prUrl, HANDOFF_LIMITS.url);
  if (fix.branch) fix.branch = compact ? null : clip(fix.branch, HANDOFF_LIMITS.branch);
  if (fix.agent) fix.agent = clip(fix.agent, HANDOFF_LIMITS.agent);
}
