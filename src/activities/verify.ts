/**
 * The `verify` activity: polls the staging health URL until it answers the expected status or the
 * time is up. A short poll inside one activity (heartbeating); long waits are the workflow's timers.
 */
import { Context } from '@temporalio/activity';
import type { VerifyConfig } from '../config/types';
import { durationMs } from '../config';
import { clipText, redact } from '../diagnosis/redact';
import { readBodyStart } from '../http-body';
import type { VerifyRecord } from '../workflows/state';

export interface VerifyInput {
  verify: VerifyConfig & { url: string };
  /** 1 for a single health check (infrastructure rechecks); otherwise poll until verify.timeout. */
  maxAttempts?: number;
}

const MAX_EVIDENCE = 6;
const BODY_EXCERPT = 200;
const REQUEST_TIMEOUT_MS = 10_000;

async function checkOnce(url: string, signal: AbortSignal): Promise<{ status: number | null; line: string }> {
  const started = Date.now();
  try {
    const res = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]), redirect: 'manual' });
    // Clipped before it is redacted: never inside a token.
    const body = clipText((await readBodyStart(res)).replace(/\s+/g, ' ').trim(), BODY_EXCERPT);
    return { status: res.status, line: `HTTP ${res.status} in ${Date.now() - started} ms${body ? `: ${body}` : ''}` };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    return { status: null, line: `no answer after ${Date.now() - started} ms: ${why}` };
  }
}

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
    const { status, line } = await checkOnce(url, ctx.cancellationSignal);
    lastStatus = status;
    // Keep the first answer and the latest ones: how it started and how it ended.
    evidence.push(redact(line));
    if (evidence.length > MAX_EVIDENCE) evidence.splice(1, 1);
    ctx.heartbeat({ attempts, lastStatus });
    const healthy = status === expectStatus;
    if (healthy || attempts >= maxAttempts || Date.now() + interval > deadline) {
      ctx.log.info('verified', { url: redact(url), healthy, attempts, lastStatus });
      return { healthy, attempts, lastStatus, durationMs: Date.now() - started, evidence };
    }
    await ctx.sleep(interval);
  }
}
