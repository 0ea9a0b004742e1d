/**
 * The loop's messages, shared by the workflow and every client (CLI, scripts, tests), and the one
 * declaration of what a message may carry: everything in it enters workflow history, so it is bounded.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { clipText } from '../diagnosis/redact';
import type { LoopStatus } from './state';

export const WORKFLOW_TYPE = 'testDeployLoop';
export const DEFAULT_TASK_QUEUE = 'test-deploy-loop';

export interface FixCommitted {
  commit: string;
  summary?: string;
  author?: string;
}

export interface FixAccepted {
  accepted: true;
  /** The cycle whose failures this fix answers. */
  cycle: number;
}

export interface InfraRestored {
  note?: string;
}

export interface Retest {
  reason?: string;
}

/** The fix team committed a fix: deploy it. */
export const fixCommitted = defineSignal<[FixCommitted]>('fixCommitted');
/** Same as fixCommitted, validated, and answered. */
export const submitFix = defineUpdate<FixAccepted, [FixCommitted]>('submitFix');
/** Infrastructure is back: verify again now. */
export const infraRestored = defineSignal<[InfraRestored?]>('infraRestored');
/** Run the suite again now, without a deploy. */
export const retest = defineSignal<[Retest?]>('retest');

export const status = defineQuery<LoopStatus>('status');
/** The latest cycle report, Markdown. */
export const report = defineQuery<string>('report');

/**
 * A commit SHA or an image tag: what a container image reference accepts as a tag (Cloud Run deploys
 * `image:{commit}`), so a commit that could never deploy is refused before it reaches the loop.
 */
export const COMMIT_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Characters per free-text field of a message. */
export const MESSAGE_LIMITS = { commit: 128, summary: 2000, author: 200, note: 500, reason: 500 } as const;

/** Shortens text over `max`, saying so; the result is at most `max` characters. */
export function truncate(text: string, max: number): string {
  return clipText(text, max, ` … [truncated from ${text.length} characters]`);
}

const quoted = (value: string) => JSON.stringify(clipText(value, 60, '…'));

/** Why `commit` cannot be deployed, or null when it can. */
export function commitProblem(commit: unknown): string | null {
  if (typeof commit !== 'string' || commit.trim() === '') return 'commit: must be a non-empty commit SHA or image tag';
  if (!COMMIT_PATTERN.test(commit.trim())) {
    return (
      `commit: ${quoted(commit.trim())} is not a commit SHA or image tag ` +
      "(letters, digits, '_', '.' and '-', at most 128 characters, not starting with '.' or '-')"
    );
  }
  return null;
}

type TextField = Exclude<keyof typeof MESSAGE_LIMITS, 'commit'>;

function textProblem(field: TextField, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') return `${field}: must be a string`;
  const max = MESSAGE_LIMITS[field];
  if (value.length > max) {
    return `${field}: ${value.length} characters, at most ${max}: shorten it (link the commit or pull request for the rest)`;
  }
  return null;
}

/** Why a fix report is refused (submitFix rejects it; the CLI checks before sending), or null. */
export function fixProblem(fix: unknown): string | null {
  if (fix === null || typeof fix !== 'object') return 'the fix must be an object: { "commit": "sha", "summary"?: "...", "author"?: "..." }';
  const { commit, summary, author } = fix as Record<string, unknown>;
  return commitProblem(commit) ?? textProblem('summary', summary) ?? textProblem('author', author);
}

/** An optional free-text field as the loop keeps it: a string within its limit, or null. */
export function boundedText(field: TextField, value: unknown): string | null {
  return typeof value === 'string' ? truncate(value, MESSAGE_LIMITS[field]) : null;
}
