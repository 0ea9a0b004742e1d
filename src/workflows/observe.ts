/**
 * What a loop shows outside itself besides its queries: search attributes for the Web UI's list and
 * `tdl list --phase`, and its metrics (the SDK's workflow metric meter: nothing is emitted on replay).
 */
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { isCancellation, metricMeter, proxyActivities, workflowInfo } from '@temporalio/workflow';
import { LOOP_METRICS } from '../metrics';
import type { searchAttributeActivities } from '../search-attributes-admin';
import { LoopCycle, LoopName, LoopPhase, WaitingFor } from '../search-attributes';
import { FINAL_PHASES, type LoopStatus, type Phase } from './state';

// A regular activity, not a local one: code after a local activity's result reads another workflow
// time on replay than it did when it ran (the result is replayed with the next task's time), and the
// first cycle's start time would differ between a live query and a replayed one.
const { loopSearchAttributesRegistered } = proxyActivities<typeof searchAttributeActivities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 3 },
});

/**
 * Whether this run may upsert the loop's search attributes: a server without them registered fails
 * the workflow task on upsert, so the loop then keeps to the memo. A run continued as new inherits
 * them (no question asked again); otherwise one activity asks, its answer kept in history.
 */
export async function searchAttributesAvailable(): Promise<boolean> {
  if (workflowInfo().typedSearchAttributes.get(LoopPhase) !== undefined) return true;
  try {
    return await loopSearchAttributesRegistered();
  } catch (err) {
    if (isCancellation(err)) throw err;
    return false; // the server could not say: the memo alone still serves `tdl list`
  }
}

/** The loop's search attributes for its status (WaitingFor removed while it waits for nothing). */
export function loopSearchAttributes(status: LoopStatus): SearchAttributeUpdatePair[] {
  return [
    { key: LoopPhase, value: status.phase },
    { key: LoopCycle, value: status.cycle },
    { key: LoopName, value: status.name },
    { key: WaitingFor, value: status.waitingFor },
  ];
}

/** Milliseconds between two ISO times, never negative (workflow time only moves forward). */
const between = (from: string, to: string) => Math.max(0, Date.parse(to) - Date.parse(from));

/**
 * Loop metrics, recorded at each phase change: entries per phase (deploys are entries into
 * `deploying`, ended loops entries into a final phase), time spent per phase (awaiting-fix is the
 * wait for people, blocked-infra the wait for infrastructure), cycle durations, rollbacks.
 */
export class LoopMetrics {
  private readonly entered = metricMeter.createCounter(LOOP_METRICS.phaseEntered, 'loops', 'loops entering each phase');
  private readonly phaseTime = metricMeter.createHistogram(LOOP_METRICS.phaseDuration, 'int', 'ms', 'time a loop spent in a phase');
  private readonly cycleTime = metricMeter.createHistogram(LOOP_METRICS.cycleDuration, 'int', 'ms', 'one cycle, from its suite run to the next cycle or the end');
  private readonly rollbacks = metricMeter.createCounter(LOOP_METRICS.rollbacks, 'rollbacks', 'rollbacks after an unhealthy deploy');
  private phase: { phase: Phase; since: string; cycle: number } | null = null;

  /** Called after the status changed to `status.phase` (at `status.updatedAt`). */
  phaseChanged(status: LoopStatus): void {
    const { phase, cycle, updatedAt } = status;
    const prev = this.phase;
    if (prev?.phase === phase && prev.cycle === cycle) return;
    if (prev) this.phaseTime.withTags({ phase: prev.phase }).record(between(prev.since, updatedAt));
    const ended = status.cycles.find((c) => c.cycle === (FINAL_PHASES.includes(phase) ? cycle : cycle - 1));
    if (ended && (FINAL_PHASES.includes(phase) || (prev && prev.cycle !== cycle))) this.cycleTime.record(between(ended.startedAt, updatedAt));
    this.entered.withTags({ phase }).add(1);
    this.phase = { phase, since: updatedAt, cycle };
  }

  rolledBack(): void {
    this.rollbacks.add(1);
  }
}
