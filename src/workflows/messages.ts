/**
 * The loop's messages, shared by the workflow and every client (CLI, scripts, tests), and the one
 * declaration of what a message may carry: everything in it enters workflow history, so it is bounded.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { clipText } from '../diagnosis/redact';
import type { HandoffDocument } from '../handoff/schema';
import { FINGERPRINT_PATTERN, HANDOFF_LIMITS } from '../handoff/types';
import type { LoopStatus } from './state';

export const WORKFLOW_TYPE = 'testDeployLoop';
export const DEFAULT_TASK_QUEUE = 'test-deploy-loop';

export interface FixCommitted {
  commit: string;
  summary?: string;
  author?: string;
  /** Fingerprints of the root causes it addresses (`tdl handoff`). */
  addresses?: string[];
  prUrl?: string;
  branch?: string;
  /** The coding agent that made it; absent: a person. */
  agent?: string;
}

export interface CannotFix {
  reason: string;
  /** The root causes it cannot fix; absent: all of them. */
  fingerprints?: string[];
  agent?: string;
}

export interface CannotFixAccepted {
  escalated: true;
  cycle: number;
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

/** The fix team cannot fix it: the loop asks people and keeps waiting for a fix. */
export const cannotFix = defineUpdate<CannotFixAccepted, [CannotFix]>('cannotFix');

export const status = defineQuery<LoopStatus>('status');
/** The current hand-off document (JSON, `schemaVersion`). */
export const handoff = defineQuery<HandoffDocument>('handoff');
/** The latest cycle report, Markdown. */
export const report = defineQuery<string>('report');

/**
 * A commit SHA or an image tag: what a container image reference accepts as a tag (Cloud Run deploys
 * `image:{commit}`), so a commit that could never deploy is refused before it reaches the loop.
 */
export const COMMIT_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Characters per free-text field of a message. */
export const MESSAGE_LIMITS = {
  commit: 128,
  summary: 2000,
  author: 200,
  note: 500,
  reason: 500,
  prUrl: HANDOFF_LIMITS.url,
  branch: HANDOFF_LIMITS.branch,
  agent: HANDOFF_LIMITS.agent,
} as const;

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
  const { commit, summary, author, addresses, prUrl, branch, agent } = fix as Record<string, unknown>;
  return (
    commitProblem(commit) ??
    textProblem('summary', summary) ??
    textProblem('author', author) ??
    fingerprintsProblem('addresses', addresses) ??
    textProblem('prUrl', prUrl) ??
    textProblem('branch', branch) ??
    textProblem('agent', agent)
  );
}

/** Why a list of fingerprints is malformed (the loop checks separately that it knows them), or null. */
export function fingerprintsProblem(field: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) return `${field}: must be a list of fingerprints`;
  if (value.length > HANDOFF_LIMITS.addresses) return `${field}: ${value.length} fingerprints, at most ${HANDOFF_LIMITS.addresses}`;
  const bad = value.find((f) => typeof f !== 'string' || !FINGERPRINT_PATTERN.test(f));
  return bad === undefined ? null : `${field}: ${quoted(String(bad))} is not a fingerprint (16 hex digits, as \`tdl handoff\` lists them)`;
}

/** Why a cannotFix is refused, or null. */
export function cannotFixProblem(arg: unknown): string | null {
  if (arg === null || typeof arg !== 'object') return 'cannotFix must be an object: { "reason": "...", "fingerprints"?: [...] }';
  const { reason, fingerprints, agent } = arg as Record<string, unknown>;
  if (typeof reason !== 'string' || reason.trim() === '') return 'reason: say why it cannot be fixed (a non-empty string)';
  return textProblem('reason', reason) ?? fingerprintsProblem('fingerprints', fingerprints) ?? textProblem('agent', agent);
}

/** The fingerprints of a message as the loop keeps them: well-formed ones only, bounded. */
export function boundedFingerprints(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return [...new Set(value.filter((f): f is string => typeof f === 'string' && FINGERPRINT_PATTERN.test(f)))].slice(0, HANDOFF_LIMITS.addresses);
}

/** An optional free-text field as the loop keeps it: a string within its limit, or null. */
export function boundedText(field: TextField, value: unknown): string | null {
  return typeof value === 'string' ? truncate(value, MESSAGE_LIMITS[field]) : null;
}
