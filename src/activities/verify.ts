/**
 * The `verify` activity: polls the staging health URL until it answers the expected status or the
 * time is up. A short poll inside one activity (heartbeating); long waits are the workflow's timers.
 */
import { Context } from '@temporalio/activity';
import type { VerifyConfig } from '../config/types';
import { durationMs } from '../config';
import { redact } from '../diagnosis/redact';
import { checkHttp } from '../http-check';
import { describeHttpCheck } from '../render';
import type { VerifyRecord } from '../workflows/state';

export interface VerifyInput {
  verify: VerifyConfig & { url: string };
  /** 1 for a single health check (infrastructure rechecks); otherwise poll until verify.timeout. */
  maxAttempts?: number;
}

const MAX_EVIDENCE = 6;
const REQUEST_TIMEOUT_MS = 10_000;
/** Each check's line goes into workflow history: a shorter excerpt than the diagnosis report's. */
const BODY_EXCERPT = 200;

export async function verifyHealth(input: VerifyInput): Promise<VerifyRecord> {
  const ctx = Context.current();
  const { url, expectStatus } = input.verify;
  const deadline = Date.now() + durationMs(input.verify.timeout);
  const interval = durationMs(input.verify.interval);
  const maxAttempts = input.maxAttempts ?? Infinity;
  const started = Date.now();
  const evidence: string[] = [];
  let attempts = 0;
  let lastStatus: number | null = null;
  for (;;) {
    attempts++;
    const check = await checkHttp(url, { timeoutMs: REQUEST_TIMEOUT_MS, signal: ctx.cancellationSignal, excerpt: BODY_EXCERPT });
    lastStatus = check.status;
    // Keep the first answer and the latest ones: how it started and how it ended.
    evidence.push(redact(`${describeHttpCheck(check)}${check.body ? `: ${check.body}` : ''}`));
    if (evidence.length > MAX_EVIDENCE) evidence.splice(1, 1);
    ctx.heartbeat({ attempts, lastStatus });
    const healthy = check.status === expectStatus;
    if (healthy || attempts >= maxAttempts || Date.now() + interval > deadline) {
      ctx.log.info('verified', { url: redact(url), healthy, attempts, lastStatus });
      return { healthy, attempts, lastStatus, durationMs: Date.now() - started, evidence };
    }
    await ctx.sleep(interval);
  }
}
