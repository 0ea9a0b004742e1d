/**
 * Tells the fix team or the infrastructure team: a Slack-compatible webhook POST and/or a command
 * with the report on stdin. Everything sent passes through redact(); the webhook URL is itself a
 * secret (Slack's carries its token in the path), so errors show only its origin. Slack's mrkdwn
 * is escaped, so a commit or summary carrying `<!channel>` or `<https://evil|click>` pings no one.
 * Transient failures (network, timeout, 5xx, 429, a command's non-zero exit) are NotifyFailed and
 * retried; a refusal retrying cannot change (other 4xx, command not found) is NotifyRejected.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HandoffConfig } from '../config/types';
import { clipText, redact, redactDeep } from '../diagnosis/redact';
import { FailureType, LoopError } from '../errors';
import { readBodyStart } from '../http-body';
import { logTail, runCommand } from '../process';

export type Audience = 'fix-team' | 'infra-team';

export interface Notification {
  audience: Audience;
  /** The loop's name. */
  loop: string;
  workflowId: string;
  cycle: number;
  phase: string;
  /** One or two lines: what happened and what is wanted. */
  text: string;
  /** The cycle's Markdown report ('' when there is none yet). */
  report: string;
  reportPath: string | null;
  /** The hand-off document (src/handoff/document.ts) and its file: to the command as $TDL_HANDOFF_FILE and on stdin, to the webhook beside the text. */
  handoff?: unknown;
  /** The webhook's copy of it, when smaller (src/handoff/file.ts forWebhook). */
  webhookHandoff?: unknown;
  handoffPath?: string;
  /** `escalation`: people are needed (the webhook's `needsPerson`, the command's TDL_NEEDS_PERSON=1). */
  kind?: 'reminder' | 'escalation' | null;
}

export interface NotifyTarget extends Pick<HandoffConfig, 'webhookUrl' | 'command'> {
  /** Where the URL came from, for errors: `handoff.webhookUrl` (default) or `handoff.webhookUrlEnv (NAME)`. */
  webhookField?: string;
}

export interface NotifyOptions {
  signal: AbortSignal;
  /** Bound on each channel (the webhook request, the command). Default 15 s. */
  timeoutMs?: number;
  /** Called every few seconds while the command runs (the activity's heartbeat). */
  onTick?: () => void;
}

const DEFAULT_TIMEOUT_MS = 15_000;
/** What is sent (the report in the webhook payload and on the command's stdin) is clipped to this; the full report stays at reportPath. */
const MAX_TEXT = 40_000;
/** Slack refuses a section whose text is longer. */
const SLACK_SECTION_LIMIT = 3000;
/** Shell exit codes for "not executable" and "not found": the command itself is wrong. */
const CANNOT_RUN = new Set([126, 127]);

export async function notify(target: NotifyTarget, message: Notification, opts: NotifyOptions): Promise<void> {
  const safe = redactDeep(message, target.webhookUrl ? [target.webhookUrl] : [], MAX_TEXT);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const [webhook, command] = await Promise.allSettled([
    target.webhookUrl ? postWebhook(target.webhookUrl, target.webhookField ?? 'handoff.webhookUrl', safe, opts.signal, timeoutMs) : null,
    target.command ? runNotifyCommand(target.command, safe, opts, timeoutMs) : null,
  ]);
  const failures = [webhook, command].flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length > 0) {
    opts.signal.throwIfAborted();
    if (failures.length === 1) throw failures[0];
    const typed = failures.filter((f): f is LoopError => f instanceof LoopError);
    if (typed.length < failures.length) throw failures.find((f) => !(f instanceof LoopError));
    // Both channels are retried together: the retry repeats a delivered one (at-least-once).
    const type = typed.some((f) => f.type === FailureType.NotifyRejected) ? FailureType.NotifyRejected : FailureType.NotifyFailed;
    throw new LoopError(type, typed.map((f) => f.message).join('; '), { audience: message.audience });
  }
}

const clip = (text: string, limit: number) => clipText(text, limit, '…');

/** Slack's control characters in mrkdwn: `<!channel>`, `<url|label>` and entities all start with one of them. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

/** Escaped and at most `limit` characters once escaped (Slack counts the entities); an entity is never cut. */
function mrkdwn(text: string, limit: number): string {
  const escaped = escapeMrkdwn(text);
  if (escaped.length <= limit) return escaped;
  // The raw characters whose escaped form fits, leaving room for the ellipsis.
  let end = 0;
  for (let length = 0; end < text.length; end++) {
    length += text[end] === '&' ? 5 : text[end] === '<' || text[end] === '>' ? 4 : 1;
    if (length > limit - 1) break;
  }
  return escapeMrkdwn(clip(text, end + 1));
}

/** Slack reads `text` and `blocks`; other receivers get the loop's own fields alongside (raw, redacted). */
function webhookPayload(n: Notification): Record<string, unknown> {
  const e = escapeMrkdwn;
  const context = `*${e(n.loop)}* · cycle ${n.cycle} · phase \`${e(n.phase)}\` · for ${n.audience}${n.reportPath ? ` · report \`${e(n.reportPath)}\`` : ''}`;
  const blocks: unknown[] = [
    { type: 'section', text: { type: 'mrkdwn', text: mrkdwn(n.text, SLACK_SECTION_LIMIT) } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: clip(context, SLACK_SECTION_LIMIT) }] },
  ];
  if (n.report) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: mrkdwn(n.report, SLACK_SECTION_LIMIT) } });
  return {
    text: e(n.text),
    blocks,
    loop: n.loop,
    workflowId: n.workflowId,
    cycle: n.cycle,
    audience: n.audience,
    phase: n.phase,
    reportPath: n.reportPath,
    report: n.report,
    ...(n.handoff !== undefined && { handoff: n.webhookHandoff ?? n.handoff, handoffPath: n.handoffPath, needsPerson: n.kind === 'escalation' }),
  };
}


async function postWebhook(url: string, field: string, n: Notification, signal: AbortSignal, timeoutMs: number): Promise<void> {
  let origin: string;
  try {
    origin = new URL(url).origin;
  } catch {
    throw new LoopError(FailureType.NotifyRejected, `${field} is not a valid URL`);
  }
  const where = `${field} (${origin}/…)`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(webhookPayload(n)),
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    });
  } catch (err) {
    signal.throwIfAborted();
    const timedOut = (err as Error).name === 'TimeoutError';
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = timedOut ? `did not answer within ${timeoutMs} ms` : `unreachable (${cause?.code ?? cause?.message ?? (err as Error).message})`;
    throw new LoopError(FailureType.NotifyFailed, redact(`${where} ${why}`, [url]));
  }
  const body = redact(clip((await readBodyStart(response)).trim(), 200), [url]);
  if (response.ok) return;
  const answered = `${where} answered ${response.status}${body ? ` (${body})` : ''}`;
  if (response.status === 429 || response.status >= 500) throw new LoopError(FailureType.NotifyFailed, answered, { status: response.status });
  throw new LoopError(FailureType.NotifyRejected, `${answered}: check the URL and the receiver; retrying will not help`, {
    status: response.status,
  });
}

async function runNotifyCommand(command: string, n: Notification, { signal, onTick }: NotifyOptions, timeoutMs: number): Promise<void> {
  // The command's output is only wanted when it fails (its tail goes into the error).
  const dir = mkdtempSync(join(tmpdir(), 'tdl-notify-'));
  const outputPath = join(dir, 'output.log');
  try {
    const result = await runCommand({
      command,
      cwd: process.cwd(),
      env: {
        ...process.env,
        TDL_LOOP: n.loop,
        TDL_WORKFLOW_ID: n.workflowId,
        TDL_CYCLE: String(n.cycle),
        TDL_AUDIENCE: n.audience,
        TDL_PHASE: n.phase,
        TDL_MESSAGE: n.text,
        TDL_REPORT_PATH: n.reportPath ?? '',
        TDL_HANDOFF_FILE: n.handoffPath ?? '',
        TDL_NEEDS_PERSON: n.kind === 'escalation' ? '1' : '',
        TDL_REMINDER: n.kind === 'reminder' ? '1' : '',
      },
      timeoutMs,
      outputPath,
      signal,
      onTick,
      tickMs: 5000,
      stdin: n.handoff !== undefined ? JSON.stringify(n.handoff) : n.report || n.text,
    });
    signal.throwIfAborted();
    if (result.exitCode === 0) return;
    const tail = logTail(outputPath, 5);
    if (result.timedOut) throw new LoopError(FailureType.NotifyFailed, `handoff.command did not finish within ${timeoutMs} ms: ${tail}`);
    const exited = `handoff.command exited with code ${result.exitCode ?? result.killedBy}: ${tail}`;
    if (result.exitCode !== null && CANNOT_RUN.has(result.exitCode)) {
      throw new LoopError(FailureType.NotifyRejected, `${exited}: the command cannot run; check handoff.command`);
    }
    throw new LoopError(FailureType.NotifyFailed, exited, { exitCode: result.exitCode });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
