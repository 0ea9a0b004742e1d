/** The cycle-over-cycle diff of root causes, by fingerprint: pure, the workflow computes it after each diagnosis. */
import type { CycleRecord, FixRecord, RootCause } from '../workflows/state';
import type { CycleDiff, DiffEntry } from './types';

/** The fix a cycle deployed and staging accepted (healthy, or nothing to verify), or null. */
export function deployedFix(c: CycleRecord | null | undefined): FixRecord | null {
  if (!c?.fix || !c.deploy || c.deploy.error !== null || c.deploy.commit !== c.fix.commit) return null;
  return c.verify && !c.verify.healthy ? null : c.fix;
}

const fingerprinted = (causes: RootCause[]) => causes.filter((r): r is RootCause & { fingerprint: string } => typeof r.fingerprint === 'string');

/**
 * `now` against the previous cycle. A root cause not failing in the cycle before is `regressed` when
 * a fix was deployed in between (it made things worse) or when the loop had seen it before (it came
 * back), and `new` otherwise.
 */
export function diffCycles(previous: CycleRecord | null, now: RootCause[], seenBefore: readonly string[]): CycleDiff {
  const fix = deployedFix(previous);
  const before = new Map(fingerprinted(previous?.rootCauses ?? []).map((r) => [r.fingerprint, r]));
  const entry = (r: RootCause & { fingerprint: string }, count: number, was: number): DiffEntry => ({
    fingerprint: r.fingerprint,
    category: r.category,
    count,
    before: was,
    fix: fix?.commit ?? null,
    claimed: Boolean(fix?.addresses?.includes(r.fingerprint)),
  });
  const diff: CycleDiff = { since: previous?.cycle ?? null, fixed: [], stillFailing: [], new: [], regressed: [] };
  const current = fingerprinted(now);
  for (const r of current) {
    const was = before.get(r.fingerprint);
    if (was) diff.stillFailing.push(entry(r, r.count, was.count));
    else if (fix || seenBefore.includes(r.fingerprint)) diff.regressed.push(entry(r, r.count, 0));
    else diff.new.push(entry(r, r.count, 0));
  }
  const failing = new Set(current.map((r) => r.fingerprint));
  for (const r of before.values()) if (!failing.has(r.fingerprint)) diff.fixed.push(entry(r, 0, r.count));
  return diff;
}

/** One line for status reasons and notifications: "1 fixed, 1 still failing, 1 regressed by abc123". */
export function describeDiff(d: CycleDiff): string {
  const parts: string[] = [];
  if (d.fixed.length) parts.push(`${d.fixed.length} fixed`);
  if (d.stillFailing.length) parts.push(`${d.stillFailing.length} still failing`);
  if (d.new.length) parts.push(`${d.new.length} new`);
  if (d.regressed.length) {
    const by = d.regressed[0].fix;
    parts.push(`${d.regressed.length} regressed${by ? ` after ${by}` : ''}`);
  }
  return parts.join(', ') || 'no root causes';
}
