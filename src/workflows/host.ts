/**
 * The worker-specific task queue: the suite's raw JUnit files exist only on the worker that ran it,
 * so the cycle's diagnosis goes to the queue only that worker polls. When that worker is gone, the
 * diagnosis cannot start there (or stops heartbeating): the cycle runs its suite again elsewhere.
 */
import { ActivityFailure, TimeoutFailure } from '@temporalio/workflow';

/** How long a diagnosis waits for the suite's worker to pick it up before the suite runs again. */
export const HOST_SCHEDULE_TO_START = '20s';
/** The diagnosis heartbeats every second; this long without one, its worker is taken for dead. */
export const HOST_HEARTBEAT = '10s';

/** True when the step failed because the worker holding the cycle's files is gone. */
export function hostLost(err: unknown): boolean {
  if (!(err instanceof ActivityFailure) || !(err.cause instanceof TimeoutFailure)) return false;
  return err.cause.timeoutType === 'SCHEDULE_TO_START' || err.cause.timeoutType === 'HEARTBEAT';
}
