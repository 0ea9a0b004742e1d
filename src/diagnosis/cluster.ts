/**
 * Groups failures into root causes, the way LUCI Analysis, Sentry and Drain do it: mask the
 * variable parts of the first informative error line, group by exception type + masked line (+ top
 * in-app frame when the line alone says too little), then merge groups of the same category whose
 * masked lines differ in only a few tokens. Every failure ends in exactly one cluster.
 */
import { categorize, type CategoryDecision } from './categorize';
import { GENERIC, headline } from './failure-text';
import type { FailureDetail, TestResult } from './junit';
import type { Category } from './types';

/** Share of equal tokens above which two masked lines are one template (Drain uses about 0.4). */
export const MERGE_SIMILARITY = 0.5;
const MAX_HEADLINE_CHARS = 300;
/** Failures per group whose stack frames are read. */
const FRAME_SAMPLE = 20;
/** Test ids kept per cluster; `count` stays exact. */
export const MAX_TESTS_PER_CLUSTER = 50;

type Replacer = string | ((match: string, ...groups: string[]) => string);

/**
 * Ordered: tokens, UUIDs and times before the number mask eats their digits. The third element is
 * text every match contains: a line without it skips that pattern (this runs for every failure).
 */
const MASKS: [RegExp, Replacer, string][] = [
  [/\[token len=\d+[^\]]*\]/g, '<token>', '[token len='],
  [/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, '<token>', 'eyJ'],
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>', '-'],
  [/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?/g, '<time>', '-'],
  [/\b\d{1,2}:\d{2}:\d{2}(\.\d+)?\b/g, '<time>', ':'],
  [/\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b/g, '<ip>', '.'],
  [/\b(0x)?[0-9a-f]{8,}\b/gi, (m) => (/\d/.test(m) && /[a-f]/i.test(m) ? '<hex>' : m), ''],
  [/[A-Za-z0-9+/_-]{24,}={0,2}/g, (m) => (/\d/.test(m) && /[A-Za-z]/.test(m) ? '<b64>' : m), ''],
  // Query values vary per request.
  [/([?&][\w.-]+=)[^&\s"']+/g, '$1<*>', '='],
  // An HTTP status after a status-like word decides the category: keep it, mask every other number.
  [/\b(HTTP|status(?:[ _]code)?|code|got|returned|response|was)(\W{1,3})([1-5]\d\d)\b|\d+(?:[.,]\d+)*/gi, (m, word) => (word ? m : '<n>'), ''],
];

/** Masks ids, numbers, times, addresses and tokens, so that one problem reads as one line. */
export function normaliseMessage(line: string): string {
  let out = line;
  for (const [pattern, replacement, needs] of MASKS) if (out.includes(needs)) out = out.replace(pattern, replacement as string);
  return out.replace(/\s+/g, ' ').trim().slice(0, MAX_HEADLINE_CHARS);
}

/** `java.net.SocketTimeoutException` -> `SocketTimeoutException`; `''` when the runner names none. */
export function exceptionType(detail: FailureDetail, line: string): string {
  const fromAttr = detail.type.trim();
  if (fromAttr && !GENERIC.test(fromAttr) && fromAttr !== 'FAILURE' && /^[\w$.]+$/.test(fromAttr)) {
    return fromAttr.slice(fromAttr.lastIndexOf('.') + 1);
  }
  const fromLine = /^(?:[\w$]+\.)*([A-Z][\w$]*(?:Error|Exception|Failure|Status|Timeout|Exit|Interrupt))\b/.exec(line);
  return fromLine ? fromLine[1] : '';
}

const FRAME_PATTERNS = [
  /^([^\s:]+\.py):\d+: in (\w+)/, // pytest --tb=short
  /File "([^"]+)", line \d+, in (\w+)/, // Python traceback
  /\bat ([\w$.]+)\.[\w$<>]+\(([\w$]+\.(?:java|kt|scala|groovy)):\d+\)/, // JVM: class, file
  /\bat (?:([^\s(]+) \()?([^\s()]+?):\d+:\d+\)?$/, // JavaScript: function, file
  /^([\w.-]+_test\.go):\d+:/, // Go
];
const LIBRARY_FRAME =
  /node_modules|site-packages|dist-packages|\/usr\/lib|(^|[(\s])internal\/|node:internal|java\.base|jdk\.internal|^sun\.|org\.junit|org\.hamcrest|org\.opentest4j|org\.apache\.maven|_pytest|pluggy|<anonymous>|asyncio|\/lib\/python/;

/** In-app frames as `file:function`, outermost as printed first; runner and library frames skipped. */
export function inAppFrames(body: string, max = 5): string[] {
  const frames: string[] = [];
  for (const raw of body.split('\n', 200)) {
    const line = raw.trim();
    for (const pattern of FRAME_PATTERNS) {
      const m = pattern.exec(line);
      if (!m) continue;
      if (!LIBRARY_FRAME.test(line)) {
        const parts = m.slice(1).filter(Boolean).map((p) => p.slice(Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\')) + 1));
        frames.push(parts.join(':'));
      }
      break;
    }
    if (frames.length >= max) break;
  }
  return frames;
}

/** A cluster before probes, hypotheses and redaction are applied. */
export interface FailureCluster {
  category: Category;
  evidence: string[];
  /** Exception type + masked template (+ in-app frame). */
  signature: string;
  count: number;
  /** The first failure of the cluster's largest group: its message and output are shown. */
  representative: TestResult;
  tests: string[];
}

interface Group {
  type: string;
  tokens: string[];
  /** Frame that keeps apart failures whose line alone says too little ("assert False"). */
  framePart: string;
  /** In-app frames common to all its failures. */
  frames: string[];
  failures: TestResult[];
}

/** Clusters failed/errored tests; see the module comment. */
export function clusterFailures(failures: readonly TestResult[]): FailureCluster[] {
  const groups = new Map<string, Group>();
  for (const test of failures) {
    const detail = test.failure ?? { kind: 'failure' as const, type: '', message: '', body: '' };
    const line = headline(detail);
    const template = normaliseMessage(line);
    const type = exceptionType(detail, line);
    const informative = isInformative(template);
    const group = informative ? groups.get(`${type}\u0000${template}\u0000`) : undefined;
    // Frames are read from the first failures of a group only: enough to find the shared helper.
    const frames = group && group.failures.length >= FRAME_SAMPLE ? group.frames : inAppFrames(detail.body);
    const framePart = informative ? '' : (frames[0] ?? '');
    const key = `${type}\u0000${template}\u0000${framePart}`;
    const same = group ?? groups.get(key);
    if (same) {
      // Keep the frames every failure passes through: the test functions differ, a shared helper does not.
      if (same.failures.length < FRAME_SAMPLE) same.frames = same.frames.filter((f) => frames.includes(f));
      same.failures.push(test);
    } else groups.set(key, { type, tokens: template.split(' '), framePart, frames, failures: [test] });
  }
  return mergeGroups([...groups.values()].sort((a, b) => b.failures.length - a.failures.length));
}

/** At least three of the template's space-separated tokens are not masks (`<n>`, `<uuid>`, ...). */
function isInformative(template: string): boolean {
  // template.split(' ').filter(...) without the arrays: this runs for every failure.
  let words = 0;
  for (let start = 0; ; ) {
    if (template.charCodeAt(start) !== 60 /* < */ && ++words >= 3) return true;
    const space = template.indexOf(' ', start);
    if (space < 0) return false;
    start = space + 1;
  }
}

interface Merged {
  decision: CategoryDecision;
  type: string;
  template: string[];
  framePart: string;
  groups: Group[];
}

/** Drain-style: groups of one category, type and length merge when most tokens are equal. */
function mergeGroups(groups: Group[]): FailureCluster[] {
  const buckets = new Map<string, Merged[]>();
  const merged: Merged[] = [];
  for (const group of groups) {
    const decision = categorize(group.failures[0]);
    const bucketKey = `${decision.category}\u0000${group.type}\u0000${group.tokens.length}\u0000${group.framePart}`;
    const bucket = buckets.get(bucketKey) ?? [];
    buckets.set(bucketKey, bucket);
    let best: Merged | null = null;
    let bestScore = MERGE_SIMILARITY;
    for (const candidate of bucket) {
      const score = similarity(candidate.template, group.tokens);
      if (score >= bestScore) [best, bestScore] = [candidate, score];
    }
    if (best === null) {
      best = { decision, type: group.type, template: [...group.tokens], framePart: group.framePart, groups: [] };
      bucket.push(best);
      merged.push(best);
    } else {
      best.template = best.template.map((t, i) => (t === group.tokens[i] ? t : '<*>'));
    }
    best.groups.push(group);
  }
  return merged.map(toCluster).sort((a, b) => b.count - a.count);
}

function similarity(template: string[], tokens: string[]): number {
  let same = 0;
  for (let i = 0; i < tokens.length; i++) if (template[i] === tokens[i] || template[i] === '<*>') same++;
  return tokens.length === 0 ? 1 : same / tokens.length;
}

function toCluster(m: Merged): FailureCluster {
  const failures = m.groups.flatMap((g) => g.failures);
  const template = m.template.join(' ');
  const typed = m.type && !template.includes(m.type) ? `${m.type}: ${template}` : template;
  // The in-app frame every group passes through (a shared helper), when there is one.
  const shared = m.groups[0].frames.find((f) => m.groups.every((g) => g.frames.includes(f)));
  const frame = m.framePart || shared;
  return {
    category: m.decision.category,
    evidence: m.decision.evidence,
    signature: frame ? `${typed} @ ${frame}` : typed,
    count: failures.length,
    representative: failures[0],
    tests: failures.slice(0, MAX_TESTS_PER_CLUSTER).map((t) => t.id),
  };
}
