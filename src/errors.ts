/**
 * The failure types of test-deploy-loop. Activities throw these as `ApplicationFailure`s (see
 * src/activities/failures.ts); the workflow and the CLI match on the `type` string.
 * Non-retryable types are the ones retrying can never fix.
 */
export const FailureType = {
  /** Loop input is invalid: names the field. Never retried. */
  BadInput: 'BadInput',
  /** The suite could not be started at all (command not found, cwd missing). Never retried. */
  SuiteNotRunnable: 'SuiteNotRunnable',
  /** The suite ran but wrote no (readable) JUnit report. Never retried. */
  NoJUnitReport: 'NoJUnitReport',
  /** A deploy failed for reasons a retry cannot fix (permission, not found, bad image). */
  DeployRejected: 'DeployRejected',
  /** A deploy failed for a transient reason (UNAVAILABLE, 429, 5xx): retried with backoff. */
  DeployUnavailable: 'DeployUnavailable',
  /** The deploy command exited non-zero: the code's own failure, goes back to the fix team. */
  DeployFailed: 'DeployFailed',
  /** A notification could not be delivered (transient). */
  NotifyFailed: 'NotifyFailed',
  /** A notification was refused for good (webhook 4xx other than 429, command not found): fix handoff.*. */
  NotifyRejected: 'NotifyRejected',
  /**
   * The worker's command policy refuses the loop's command: an inline one where only named commands
   * run, or a name the policy does not have. Never retried: the message names the field and the names.
   */
  CommandNotAllowed: 'CommandNotAllowed',
  /** The service's logs cannot be read (no credentials or permission, a refused filter): the loop decides without them. */
  ServiceLogsRejected: 'ServiceLogsRejected',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** Failure types the activity retry policies must never retry. */
export const NON_RETRYABLE_TYPES: FailureType[] = [
  FailureType.BadInput,
  FailureType.SuiteNotRunnable,
  FailureType.NoJUnitReport,
  FailureType.DeployRejected,
  FailureType.DeployFailed,
  FailureType.NotifyRejected,
  FailureType.CommandNotAllowed,
  FailureType.ServiceLogsRejected,
];

/**
 * An error from plain (non-Temporal) code that knows its failure type. Activities turn it into an
 * ApplicationFailure of the same type, retryable unless the type is in NON_RETRYABLE_TYPES.
 */
export class LoopError extends Error {
  constructor(
    readonly type: FailureType,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = type;
  }
}
