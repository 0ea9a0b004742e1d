/** The one place where plain errors become typed Temporal failures. */
import { ApplicationFailure } from '@temporalio/common';
import { LoopError, NON_RETRYABLE_TYPES } from '../errors';
import { redact } from '../diagnosis/redact';

/** Turns a LoopError into an ApplicationFailure of its type; anything else passes through (retried). */
export function toFailure(err: unknown): unknown {
  if (!(err instanceof LoopError)) return err;
  return ApplicationFailure.create({
    type: err.type,
    message: redact(err.message),
    nonRetryable: NON_RETRYABLE_TYPES.includes(err.type),
  });
}

/** Runs an activity body, converting its LoopErrors. */
export async function typed<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw toFailure(err);
  }
}
