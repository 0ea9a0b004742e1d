/**
 * Where a loop's time went: per cycle and per loop, time testing, diagnosing, deploying, verifying,
 * waiting for a fix and blocked on infrastructure, and the time to green. Counted at each phase
 * change from the workflow's own clock (deterministic on replay); pure, no Temporal.
 */
import type { Phase } from './state';

export interface TimeSpent {
  testingMs: number;
  diagnosingMs: number;
  deployingMs: number;
  verifyingMs: number;
  /** awaiting-fix: people or agents working on a fix. */
  waitingForFixMs: number;
  blockedOnInfraMs: number;
}

export interface LoopTime {
  startedAt: string;
  /** The current phase began then; the time since is not yet in the totals. */
  phaseSince: string;
  /** The cycle the current phase began in: its time is counted there. */
  phaseCycle: number;
  total: TimeSpent;
  /** From the loop's start to the first green suite; null until then. */
  timeToGreenMs: number | null;
}

const BUCKET: Partial<Record<Phase, keyof TimeSpent>> = {
  testing: 'testingMs',
  diagnosing: 'diagnosingMs',
  deploying: 'deployingMs',
  verifying: 'verifyingMs',
  'awaiting-fix': 'waitingForFixMs',
  'blocked-infra': 'blockedOnInfraMs',
};

export function noTimeSpent(): TimeSpent {
  return { testingMs: 0, diagnosingMs: 0, deployingMs: 0, verifyingMs: 0, waitingForFixMs: 0, blockedOnInfraMs: 0 };
}

export function startTime(now: Date, cycle = 0): LoopTime {
  return { startedAt: now.toISOString(), phaseSince: now.toISOString(), phaseCycle: cycle, total: noTimeSpent(), timeToGreenMs: null };
}

/** The parts of the status time accounting reads and writes. */
export interface Timed {
  phase: Phase;
  cycle: number;
  time?: LoopTime;
  cycles: { cycle: number; time?: TimeSpent }[];
}

/**
 * The phase is about to change to `next` at `now`: the time since the last change goes to the old
 * phase, in the loop's totals and in the cycle it began in (if the status still keeps that cycle).
 */
export function accountPhaseChange(s: Timed, next: Phase, now: Date): void {
  // A status carried from a version without time accounting starts counting now.
  const t = (s.time ??= startTime(now, s.cycle));
  const bucket = BUCKET[s.phase];
  const elapsed = Math.max(0, now.getTime() - Date.parse(t.phaseSince));
  if (bucket) {
    t.total[bucket] += elapsed;
    const cycle = s.cycles.find((c) => c.cycle === t.phaseCycle);
    if (cycle) (cycle.time ??= noTimeSpent())[bucket] += elapsed;
  }
  if (next === 'passed' && t.timeToGreenMs === null) t.timeToGreenMs = Math.max(0, now.getTime() - Date.parse(t.startedAt));
  t.phaseSince = now.toISOString();
  t.phaseCycle = s.cycle;
}

/** The totals as of `now` (a client's clock): the current phase's time so far included. */
export function timeSpentAt(t: LoopTime, phase: Phase, now: Date): TimeSpent {
  const out = { ...t.total };
  const bucket = BUCKET[phase];
  if (bucket) out[bucket] += Math.max(0, now.getTime() - Date.parse(t.phaseSince));
  return out;
}

const LABELS: [keyof TimeSpent, string][] = [
  ['testingMs', 'testing'],
  ['diagnosingMs', 'diagnosing'],
  ['deployingMs', 'deploying'],
  ['verifyingMs', 'verifying'],
  ['waitingForFixMs', 'waiting for a fix'],
  ['blockedOnInfraMs', 'blocked on infrastructure'],
];

/** "1.2 s", "3 min", "2.5 h", "3.1 d". */
export function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${(s / 60).toFixed(1)} min`;
  if (s < 86_400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
}

/** "testing 2.0 min, waiting for a fix 3.0 d, ..." (only what took time), or "nothing yet". */
export function describeTimeSpent(t: TimeSpent): string {
  const parts = LABELS.filter(([k]) => t[k] > 0).map(([k, label]) => `${label} ${formatDuration(t[k])}`);
  return parts.join(', ') || 'nothing yet';
}

/** Where the time went, in a line, and the time to green once there. */
export function describeTime(spent: TimeSpent, timeToGreenMs: number | null): string {
  return `${describeTimeSpent(spent)}${timeToGreenMs === null ? '' : `; green after ${formatDuration(timeToGreenMs)}`}`;
}
