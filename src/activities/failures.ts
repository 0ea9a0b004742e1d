/** The one place where plain errors become typed Temporal failures, and where everything leaving an activity is redacted. */
import { ApplicationFailure } from '@temporalio/common';
import { LoopError, NON_RETRYABLE_TYPES } from '../errors';
import { clipText, redact, redactDeep } from '../diagnosis/redact';

/** A failure's message and stack enter history: clipped (before redaction) to this. */
const MAX_FAILURE_TEXT = 4000;

const clean = (text: string) => redact(clipText(text, MAX_FAILURE_TEXT, '…'));

/**
 * Turns a LoopError into an ApplicationFailure of its type; any other error keeps its class (so
 * retries and cancellation work as before) with its message, stack and causes clipped and
 * redacted: a library's error can quote what a suite printed.
 */
export function toFailure(err: unknown): unknown {
  if (err instanceof LoopError) {
    return ApplicationFailure.create({
      type: err.type,
      message: clean(err.message),
      nonRetryable: NON_RETRYABLE_TYPES.includes(err.type),
    });
  }
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    try {
      e.message = clean(e.message);
      if (e.stack) e.stack = clean(e.stack);
    } catch {
      // A read-only message (DOMException's AbortError, TimeoutError) is the platform's own words.
    }
  }
  return err;
}

/** Runs an activity body, converting its LoopErrors and redacting its result. */
export async function typed<T>(body: () => Promise<T>): Promise<T> {
  try {
    return redactDeep(await body());
  } catch (err) {
    throw toFailure(err);
  }
}
