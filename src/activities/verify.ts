/**
 * The `verify` activity: polls the staging health URL until it answers the expected status or the
 * time is up. A short poll inside one activity (heartbeating); long waits are the workflow's timers.
 * Given probes (verify-then-promote), a healthy service is then probed once: the check also needs the
 * configured WebSocket handshake accepted and the HTTP probe healthy.
 */
import { Context } from '@temporalio/activity';
import type { ProbesConfig, VerifyConfig } from '../config/types';
import { durationMs } from '../config';
import { runProbes } from '../diagnosis/probes';
import { redact } from '../diagnosis/redact';
import type { ProbeEvidence } from '../diagnosis/types';
import { checkHttp } from '../http-check';
import { attemptOutcome, describeHttpCheck } from '../render';
import { rememberSecretEnv, secretEnvOf } from '../secrets';
import type { VerifyRecord } from '../workflows/state';

export interface VerifyInput {
  verify: VerifyConfig & { url: string };
  /** 1 for a single health check (infrastructure rechecks); otherwise poll until verify.timeout. */
  maxAttempts?: number;
  /** The probes to judge too, at the URLs given (a candidate's: see probesAt). */
  probes?: ProbesConfig;
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
      const probed = healthy && input.probes ? await probe(input.probes, ctx.cancellationSignal) : null;
      // The probes' lines come last, a failing one last of all: the line a failed check is told by.
      if (probed) evidence.push(...probed.lines);
      const verdict = healthy && (probed?.healthy ?? true);
      ctx.log.info('verified', { url: redact(url), healthy: verdict, attempts, lastStatus });
      return { healthy: verdict, attempts, lastStatus, durationMs: Date.now() - started, evidence };
    }
    await ctx.sleep(interval);
  }
}

async function probe(probes: ProbesConfig, signal: AbortSignal): Promise<{ healthy: boolean; lines: string[] } | null> {
  if (!probes.websocket && !probes.http) return null;
  rememberSecretEnv(secretEnvOf(probes));
  return judgeProbes(await runProbes(probes, process.env, { signal }));
}

/**
 * Whether a revision passed its probes: the configured WebSocket handshake (the first attempt)
 * accepted, the HTTP probe healthy. The token's own claims do not judge a revision: they are the
 * diagnosis's. One line each, failing ones last.
 */
export function judgeProbes(evidence: ProbeEvidence): { healthy: boolean; lines: string[] } {
  const results: { ok: boolean; line: string }[] = [];
  const ws = evidence.websocket?.attempts[0];
  if (ws) results.push({ ok: ws.accepted, line: `probe ${evidence.websocket!.url} (${ws.label}): ${attemptOutcome(ws)}` });
  const http = evidence.http;
  if (http) results.push({ ok: http.healthy, line: `probe ${http.url}: ${describeHttpCheck(http)}, ${http.healthy ? 'healthy' : 'unhealthy'}` });
  return {
    healthy: results.every((r) => r.ok),
    lines: [...results.filter((r) => r.ok), ...results.filter((r) => !r.ok)].map((r) => redact(r.line)),
  };
}
