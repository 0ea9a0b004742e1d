/**
 * The loop's guards over its fix team, as pure decisions: which fixes to refuse, when a root cause
 * has had enough attempts, what the loop remembers from each diagnosed cycle.
 */
import type { CycleRecord, FixRecord } from '../workflows/state';
import { deployedFix } from './diff';
import { HANDOFF_LIMITS, keepNewest, type CycleDiff, type HandoffMemory } from './types';

/**
 * Why the loop refuses a fix (the update's validator rejects it; a signal's is logged and ignored),
 * or null. The cycles the status still holds in full count as well as what the memory kept.
 */
export function fixRefusal(memory: HandoffMemory, cycles: readonly CycleRecord[], fix: { commit: string; addresses?: string[] }): string | null {
  const commit = fix.commit.trim();
  const inCycle = cycles.find((c) => c.deploy?.error === null && c.deploy.commit === commit);
  if (inCycle || memory.deployed.includes(commit)) {
    return `commit: ${commit} was already deployed in this loop${inCycle ? ` (cycle ${inCycle.cycle})` : ''}; commit the change you want deployed and report that commit`;
  }
  const unknown = (fix.addresses ?? []).filter((f) => !memory.seen.includes(f));
  if (unknown.length) {
    return `addresses: ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not a root cause this loop has diagnosed; use fingerprints from \`tdl handoff\` (known: ${memory.seen.slice(-10).join(', ') || 'none yet'})`;
  }
  return null;
}

/**
 * After a cycle is diagnosed: the previous cycle's deployed commit and this cycle's fingerprints
 * remembered, and each root cause a verified fix claimed but did not fix counted. Returns the
 * fingerprints that reached `maxAttempts`: they go to people instead of round again.
 */
export function rememberCycle(memory: HandoffMemory, previous: CycleRecord | null, diff: CycleDiff, maxAttempts: number): string[] {
  if (previous?.deploy && previous.deploy.error === null && !memory.deployed.includes(previous.deploy.commit)) {
    memory.deployed = keepNewest([...memory.deployed, previous.deploy.commit], HANDOFF_LIMITS.deployed);
  }
  const seen = new Set(memory.seen);
  for (const e of [...diff.stillFailing, ...diff.new, ...diff.regressed]) seen.add(e.fingerprint);
  memory.seen = keepNewest([...seen], HANDOFF_LIMITS.seen);
  const exhausted: string[] = [];
  for (const e of [...diff.stillFailing, ...diff.regressed]) {
    if (!e.claimed || !deployedFix(previous)) continue;
    const n = (memory.attempts[e.fingerprint] ?? 0) + 1;
    memory.attempts[e.fingerprint] = n;
    if (n >= maxAttempts) exhausted.push(e.fingerprint);
  }
  return exhausted;
}

/** Who made a fix, in a few words: "agent claude-code", "Dana", or "someone". */
export function fixedBy(fix: Pick<FixRecord, 'agent' | 'author'>): string {
  if (fix.agent) return `agent ${fix.agent}`;
  return fix.author ?? 'a person';
}
