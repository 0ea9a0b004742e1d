/**
 * Loops on a calendar: Temporal Schedules that start testDeployLoop with a fixed input. While the
 * previous loop of a schedule runs, a due run is skipped (overlap policy SKIP): a loop can wait days
 * for a fix, and piling up loops on one staging service helps nobody.
 */
import { ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { loopStartSearchAttributes } from './search-attributes-admin';
import { WORKFLOW_TYPE } from './workflows/messages';

export interface LoopScheduleOptions {
  scheduleId: string;
  /** Cron expressions (5 fields, or `@daily`...), as Temporal Schedules read them. */
  cron: string[];
  timezone?: string;
  taskQueue: string;
  /** The loop input as written. */
  input: unknown;
  /** The loop's name, for listings. */
  name: string;
}

export interface LoopScheduleListing {
  scheduleId: string;
  name: string | null;
  cron: string[];
  paused: boolean;
  nextRuns: string[];
  /** Workflow ids of the most recent loops it started. */
  recentLoops: string[];
}

export async function createLoopSchedule(client: Client, opts: LoopScheduleOptions): Promise<void> {
  await client.schedule.create({
    scheduleId: opts.scheduleId,
    spec: { cronExpressions: opts.cron, timezone: opts.timezone },
    action: {
      type: 'startWorkflow',
      workflowType: WORKFLOW_TYPE,
      // Temporal appends the scheduled time: `<scheduleId>-2026-11-27T02:00:00Z`.
      workflowId: opts.scheduleId,
      taskQueue: opts.taskQueue,
      args: [opts.input],
      staticSummary: `test-deploy-loop: ${opts.name} (schedule ${opts.scheduleId})`,
      typedSearchAttributes: await loopStartSearchAttributes(client, opts.name),
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP },
    // The spec as the user wrote it: the server keeps cron only as its calendar form.
    memo: { tdlName: opts.name, tdlCron: opts.cron },
  });
}

/** Schedules that start loops (others on the namespace are left out). */
export async function listLoopSchedules(client: Client): Promise<LoopScheduleListing[]> {
  const out: LoopScheduleListing[] = [];
  for await (const s of client.schedule.list()) {
    if (s.action?.type !== 'startWorkflow' || s.action.workflowType !== WORKFLOW_TYPE) continue;
    const memo = (s.memo ?? {}) as { tdlName?: string; tdlCron?: string[] };
    out.push({
      scheduleId: s.scheduleId,
      name: memo.tdlName ?? null,
      cron: memo.tdlCron ?? [],
      paused: s.state.paused,
      nextRuns: s.info.nextActionTimes.map((t) => t.toISOString()),
      recentLoops: s.info.recentActions.map((a) => a.action.workflow.workflowId),
    });
  }
  return out.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}

export async function deleteLoopSchedule(client: Client, scheduleId: string): Promise<void> {
  await client.schedule.getHandle(scheduleId).delete();
}
