/**
 * How the project words test counts, verdicts, HTTP checks and WebSocket attempts, and how it
 * keeps text inside Markdown: one rendering each, for the CLI, the cycle report and the loop's
 * report. Pure and free of node: imports, because the loop's report is rendered in workflow code.
 */
import type { TestCounts, Verdict, WebSocketAttempt } from './diagnosis/types';
import type { HttpCheck } from './http-check';

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** "1 passed, 24 failed, 0 errored, 0 skipped, 0 flaky". */
export function outcomes(t: TestCounts): string {
  return `${t.passed} passed, ${t.failed} failed, ${t.errored} errored, ${t.skipped} skipped, ${t.flaky} flaky`;
}

/** "25 tests: 1 passed, 24 failed, 0 errored, 0 skipped, 0 flaky (121.0 s)"; null: "not run". */
export function testCounts(t: (TestCounts & { durationMs?: number }) | null): string {
  if (!t) return 'not run';
  return `${t.total} tests: ${outcomes(t)}${t.durationMs === undefined ? '' : ` (${seconds(t.durationMs)})`}`;
}

/** What each verdict means for the people around the loop. */
export const VERDICTS: Record<Verdict, { mark: string; title: string; meaning: string }> = {
  passed: { mark: '✅', title: 'Passed', meaning: 'every test passed' },
  code: { mark: '❌', title: 'Code defects', meaning: 'handed to the fix team' },
  infrastructure: { mark: '🚨', title: 'Infrastructure problem', meaning: 'handed to the infrastructure team; no code fix is asked for' },
  flaky: { mark: '⚠️', title: 'Flaky only', meaning: 'every failing test passed on retry' },
  mixed: { mark: '❌🚨', title: 'Code defects and an infrastructure problem', meaning: 'the infrastructure team first, then the fix team' },
};

/** A Markdown table cell: no pipes or line breaks to break the table. */
export const mdCell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

/** Inline Markdown code that survives backticks in the text. */
export const mdCode = (text: string) => (text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``);

/** "HTTP 503 in 12 ms", "no answer after 5003 ms: ECONNREFUSED" (the body, if wanted, is the caller's). */
export function describeHttpCheck(c: HttpCheck): string {
  return c.status !== null ? `HTTP ${c.status} in ${c.ms} ms` : `no answer after ${c.ms} ms: ${c.error}`;
}

/** How one WebSocket handshake attempt ended: "accepted (protocol jwt-auth)", "closed 1002 "..."". */
export function attemptOutcome(a: WebSocketAttempt): string {
  return a.accepted
    ? `accepted${a.protocol ? ` (protocol ${a.protocol})` : ''}`
    : a.status !== null && a.status !== 101
      ? `rejected with HTTP ${a.status}`
      : a.closeCode !== null
        ? `closed ${a.closeCode}${a.closeReason ? ` "${a.closeReason}"` : ''}`
        : `failed${a.error ? `: ${a.error}` : ''}`;
}

/** One attempt as evidence: "WebSocket probe, no subprotocol, Authorization: Bearer <token>: closed 1002 ...". */
export function describeAttempt(a: WebSocketAttempt): string {
  return `WebSocket probe, ${a.label}: ${attemptOutcome(a)}${a.firstMessage ? `, first message ${a.firstMessage}` : ''}`;
}
