/**
 * Groups failures into root causes on what a triager reads: the exception type, the first
 * informative error line with its variable parts masked (as LUCI Analysis does: ids, UUIDs, hex,
 * times, quoted values; HTTP statuses, error codes and source locations are kept), and the
 * innermost in-project stack frame when the line alone says too little. Groups of one category,
 * type and frame whose lines differ in a few words merge (Drain); then clusters of one
 * connection-level category thrown at the same frame are one root cause, their lines its variants.
 * Every failure ends in exactly one cluster.
 */
import { categorize, isInfrastructure, type CategoryDecision } from './categorize';
import { GENERIC, headline } from './failure-text';
import type { FailureDetail, TestResult } from './junit';
import type { Category } from './types';

/** Share of equal words above which two masked lines are one template (Drain uses about 0.4). */
export const MERGE_SIMILARITY = 0.5;
const MAX_HEADLINE_CHARS = 300;
/** Failures per group whose stack frames are read. */
const FRAME_SAMPLE = 20;
/** Evidence lines kept for a root cause of several variants. */
const MAX_EVIDENCE_LINES = 6;
/** Variants listed per root cause. */
const MAX_VARIANTS = 10;
/** Candidates a group is compared with for a merge: keeps clustering linear in the number of distinct lines. */
const MAX_MERGE_CANDIDATES = 50;
/**
 * Categories where one call site failing several ways is one broken interaction (the handshake
 * rejected with 426, with 1002, without a subprotocol). Assertions at one site check different things.
 */
const MERGED_AT_FRAME: ReadonlySet<Category> = new Set(['websocket-handshake', 'auth', 'service-unavailable', 'database', 'timeout', 'test-setup']);

type Replacer = string | ((match: string, ...groups: string[]) => string);

const HTTP_REASON = 'OK|Created|Accepted|No Content|Moved|Found|Not|Bad|Unauthori[sz]ed|Payment|Forbidden|Method|Conflict|Gone|Precondition|Payload|Request|Unsupported|Too|Internal|Service|Gateway|Unprocessable|Upgrade';
const SOURCE_EXT = 'go|py|js|ts|tsx|jsx|mjs|cjs|java|kt|cs|rb|php|phpt|rs|c|cc|cpp|h|swift|scala|groovy|exs?';

/**
 * Numbers that say what happened stay: a source location, an error or close code after its word,
 * an HTTP status after a status word, before a reason phrase or closing a line ("creating cart: 500").
 * Every other number (ids, counts, durations, ports) is masked.
 */
const NUMBERS = new RegExp(
  [
    `\\b[\\w-]+\\.(?:${SOURCE_EXT}):\\d+\\b`,
    '\\b(?:Errno|errno|exit(?: status| code)?|close[d]?(?: with)?(?: code)?|code=?)\\W{0,3}\\d{1,4}\\b',
    '\\b(?:HTTP(?:/\\d(?:\\.\\d)?)?|status(?:[ _]?code)?|got|returned|response|responded(?: with)?|received|was)\\W{1,3}[1-5]\\d\\d\\b',
    `\\b[1-5]\\d\\d(?= (?:${HTTP_REASON})\\b)`,
    '(?<=: )[1-5]\\d\\d(?=$|\\s+[-:({\\[])',
    '(\\d+(?:[.,]\\d+)*)',
  ].join('|'),
  'gi',
);

/** A quoted value is data ('user@host', "abc-12"); prose ("must not be empty") and CODES are kept. */
function maskQuoted(match: string, quote: string, content: string): string {
  return /\s/.test(content) || /^[A-Z][A-Z0-9_]+$/.test(content) ? match : `${quote}<*>${quote}`;
}

/**
 * Ordered: tokens, UUIDs and times before the number mask eats their digits. The third element is
 * text every match contains: a line without it skips that pattern (this runs for every failure).
 */
const MASKS: [RegExp, Replacer, string][] = [
  [/\[token len=\d+[^\]]*\]/g, '<token>', '[token len='],
  [/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, '<token>', 'eyJ'],
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>', '-'],
  [/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?/g, '<time>', '-'],
  [/\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} \d{1,2}:\d{2}:\d{2}(\.\d+)?/g, '<time>', ':'],
  [/\b\d{1,2}:\d{2}:\d{2}(\.\d+)?\b/g, '<time>', ':'],
  [/\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b/g, '<ip>', '.'],
  [/\b[\w.+-]+@[\w-]+(\.[\w-]+)+\b/g, '<email>', '@'],
  [/\b(0x)?[0-9a-f]{8,}\b/gi, (m) => (/\d/.test(m) && /[a-f]/i.test(m) ? '<hex>' : m), ''],
  // Random base64 has digits and both cases; a path or an identifier seldom has all three.
  [/[A-Za-z0-9+/_-]{24,}={0,2}/g, (m) => (/\d/.test(m) && /[a-z]/.test(m) && /[A-Z]/.test(m) ? '<blob>' : m), ''],
  // Query values vary per request.
  [/([?&][\w.-]+=)[^&\s"']+/g, '$1<*>', '='],
  // Arrays printed as data (`[ { …(5) }, …(3) ]`, `[1, 2]`); not `[Errno 111]` or `[chromium]`.
  [/\[(?=[\s{'"\d-])[^[\]\n]{0,300}\]/g, '[…]', '['],
  // Not a JSON key (a quoted word followed by `:`).
  [/(['"`])([^'"`\n]{0,200})\1(?!\s*:)/g, (m, quote, content) => maskQuoted(m, quote, content), ''],
  [NUMBERS, (m, masked) => (masked ? '<n>' : m), ''],
];

/** Masks ids, numbers, times, addresses, quoted values and tokens, so that one problem reads as one line. */
export function normaliseMessage(line: string): string {
  let out = line.length > MAX_HEADLINE_CHARS * 4 ? line.slice(0, MAX_HEADLINE_CHARS * 4) : line;
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

/**
 * Stack frame formats, each capturing file, line and (when printed) function; `outermostFirst`:
 * Python prints the innermost call last.
 */
const FRAME_PATTERNS: { pattern: RegExp; file: number; line: number; fn: number; outermostFirst: boolean }[] = [
  { pattern: /^([^\s:]+\.py):(\d+): in (\w+)/, file: 1, line: 2, fn: 3, outermostFirst: true }, // pytest --tb=short
  { pattern: /File "([^"]+)", line (\d+), in (\w+)/, file: 1, line: 2, fn: 3, outermostFirst: true }, // Python traceback
  { pattern: /\bat [\w$.]+\.([\w$<>]+)\(([\w$]+\.(?:java|kt|scala|groovy)):(\d+)\)/, file: 2, line: 3, fn: 1, outermostFirst: false }, // JVM
  { pattern: /\bat:? (?:([^\s(]+) \()?([^\s()]+?):(\d+):\d+\)?$/, file: 2, line: 3, fn: 1, outermostFirst: false }, // JavaScript, TAP's `at:`
  { pattern: /\bat [\w.`<>]*?([\w`<>]+)\(.*\) in (.+?):line (\d+)$/, file: 2, line: 3, fn: 1, outermostFirst: false }, // .NET
  { pattern: /^([\w.-]+_test\.go):(\d+):/, file: 1, line: 2, fn: 0, outermostFirst: false }, // Go
];
const LIBRARY_FRAME =
  /node_modules|site-packages|dist-packages|\/usr\/lib|(^|[(\s])internal\/|node:internal|java\.base|jdk\.internal|^at sun\.|org\.junit|org\.hamcrest|org\.opentest4j|org\.apache\.maven|org\.testng|org\.codehaus\.groovy|io\.restassured|org\.springframework|_pytest|pluggy|\(<anonymous>\)|at <anonymous>$|asyncio|\/lib\/python|\bNUnit\.Framework\b|\bSystem\.(Runtime|Reflection)\b/;

/** In-app frames as `file:line in function`, innermost call first; runner and library frames skipped. */
export function inAppFrames(body: string, max = 5): string[] {
  const frames: string[] = [];
  let outermostFirst = false;
  for (const raw of body.split('\n', 200)) {
    const text = raw.trim();
    for (const { pattern, file, line, fn, outermostFirst: reversed } of FRAME_PATTERNS) {
      const m = pattern.exec(text);
      if (!m) continue;
      if (!LIBRARY_FRAME.test(text)) {
        const path = m[file];
        const name = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
        frames.push(`${name}:${m[line]}${fn && m[fn] ? ` in ${m[fn]}` : ''}`);
        outermostFirst = reversed;
      }
      break;
    }
    // Python's innermost frames are its last ones: read them all (bounded by the line limit).
    if (frames.length >= max && !outermostFirst) break;
  }
  return outermostFirst ? frames.reverse().slice(0, max) : frames;
}

/** One way a root cause showed itself: a masked line and how many failures read so. */
export interface Variant {
  message: string;
  count: number;
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
  /** The distinct lines of a root cause that merged several (largest first); empty for one. */
  variants: Variant[];
}

interface Group {
  type: string;
  template: string;
  tokens: string[];
  /** Frame that keeps apart failures whose line alone says too little ("assert False"). */
  framePart: string;
  /** In-app frames common to all its failures, innermost first. */
  frames: string[];
  failures: TestResult[];
}

/** Clusters failed/errored tests; see the module comment. */
export function clusterFailures(failures: readonly TestResult[]): FailureCluster[] {
  const groups = new Map<string, Group>();
  const adopted = parentsOfFailingSubtests(failures);
  const keyOf = new Map<TestResult, string>();
  const add = (test: TestResult, key: string, make: () => Group, frames: string[]) => {
    keyOf.set(test, key);
    const same = groups.get(key);
    if (!same) {
      groups.set(key, { ...make(), failures: [test] });
      return;
    }
    // Keep the frames every failure passes through: the test functions differ, a shared helper does not.
    if (same.failures.length < FRAME_SAMPLE) same.frames = same.frames.filter((f) => frames.includes(f));
    same.failures.push(test);
  };
  for (const test of failures) {
    if (adopted.has(test)) continue;
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
    add(test, key, () => ({ type, template, tokens: template.split(' '), framePart, frames, failures: [] }), frames);
  }
  // A parent test that failed only because a subtest did (Go, `--- FAIL: TestX` with nothing of its own) joins it.
  for (const [parent, child] of adopted) {
    const key = keyOf.get(child);
    if (key === undefined) continue;
    keyOf.set(parent, key);
    groups.get(key)!.failures.push(parent);
  }
  return mergeAtFrame(mergeGroups([...groups.values()].sort((a, b) => b.failures.length - a.failures.length)));
}

/**
 * Failing parents with nothing of their own to say, each with a failing subtest (`TestX/case`) it
 * follows; chains (`A` -> `A/b` -> `A/b/c`) resolve to the deepest informative one.
 */
function parentsOfFailingSubtests(failures: readonly TestResult[]): Map<TestResult, TestResult> {
  if (!failures.some((t) => t.id.includes('/'))) return new Map();
  const byId = new Map(failures.map((t) => [t.id, t]));
  const silent = (t: TestResult) => t.failure === null || GENERIC.test(headline(t.failure));
  const childOf = new Map<TestResult, TestResult>();
  for (const t of failures) {
    const nameStart = t.id.lastIndexOf('::') + 1;
    for (let at = t.id.indexOf('/', nameStart); at > 0; at = t.id.indexOf('/', at + 1)) {
      const parent = byId.get(t.id.slice(0, at));
      if (parent && parent !== t && !childOf.has(parent) && silent(parent)) childOf.set(parent, t);
    }
  }
  const adopted = new Map<TestResult, TestResult>();
  for (const parent of childOf.keys()) {
    let child = childOf.get(parent)!;
    while (childOf.has(child)) child = childOf.get(child)!;
    adopted.set(parent, child);
  }
  return adopted;
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
  /** Its kept numbers (statuses, codes, locations): lines that differ in them are different problems. */
  anchors: string;
  framePart: string;
  groups: Group[];
}

const anchorsOf = (tokens: readonly string[]) => tokens.filter((t) => /\d/.test(t)).join(' ');

/** Drain-style: groups of one category, type and frame merge when most words are equal. */
function mergeGroups(groups: Group[]): Merged[] {
  const buckets = new Map<string, Merged[]>();
  const merged: Merged[] = [];
  for (const group of groups) {
    const decision = categorize(group.failures[0]);
    const anchors = anchorsOf(group.tokens);
    const bucketKey = `${decision.category}\u0000${group.type}\u0000${group.framePart}\u0000${anchors}`;
    const bucket = buckets.get(bucketKey) ?? [];
    buckets.set(bucketKey, bucket);
    let best: Merged | null = null;
    let bestScore = MERGE_SIMILARITY;
    for (const candidate of bucket.slice(0, MAX_MERGE_CANDIDATES)) {
      const score = similarity(candidate.template, group.tokens);
      if (score >= bestScore) [best, bestScore] = [candidate, score];
    }
    if (best === null) {
      best = { decision, type: group.type, template: [...group.tokens], anchors, framePart: group.framePart, groups: [] };
      bucket.push(best);
      merged.push(best);
    } else if (best.template.length === group.tokens.length) {
      best.template = best.template.map((t, i) => (t === group.tokens[i] ? t : '<*>'));
    }
    best.groups.push(group);
  }
  return merged;
}

/**
 * Equal words over the longer line's words: position by position for lines of one length, else
 * their longest common subsequence when the shorter line is all in it (a word more or less:
 * "Invalid address 😋 '<*>'"), up to two words apart.
 */
function similarity(template: string[], tokens: string[]): number {
  const longer = Math.max(template.length, tokens.length);
  if (longer === 0) return 1;
  if (template.length === tokens.length) {
    let same = 0;
    for (let i = 0; i < tokens.length; i++) if (template[i] === tokens[i] || template[i] === '<*>') same++;
    return same / longer;
  }
  if (Math.abs(template.length - tokens.length) > 2) return 0;
  let previous = new Array<number>(tokens.length + 1).fill(0);
  for (const word of template) {
    const row = [0];
    for (let j = 0; j < tokens.length; j++) row.push(word === tokens[j] || word === '<*>' ? previous[j] + 1 : Math.max(previous[j + 1], row[j]));
    previous = row;
  }
  // Only words added or left out: a line whose words differ ("to have property" vs "to include") is another check.
  const common = previous[tokens.length];
  return common < Math.min(template.length, tokens.length) ? 0 : common / longer;
}

/** The in-app frame every group passes through (a shared helper, the throw site), when there is one. */
function sharedFrame(groups: readonly Group[]): string | undefined {
  return groups[0].frames.find((f) => groups.every((g) => g.frames.includes(f)));
}

/**
 * Clusters of one connection-level category thrown at one in-app frame are one root cause; so are
 * infrastructure clusters whose deciding line is the same (the service refused every request, and
 * each test tripped over it in its own way).
 */
function mergeAtFrame(merged: Merged[]): FailureCluster[] {
  const clusters: Merged[][] = [];
  const atFrame = new Map<string, Merged[]>();
  for (const m of merged) {
    const { category, evidence } = m.decision;
    const frame = m.framePart || sharedFrame(m.groups);
    const place = isInfrastructure(category) && evidence.length > 0 ? `evidence ${normaliseMessage(evidence[0])}` : frame;
    if (place === undefined || !MERGED_AT_FRAME.has(category)) {
      clusters.push([m]);
      continue;
    }
    const key = `${category}\u0000${place}`;
    const same = atFrame.get(key);
    if (same) same.push(m);
    else {
      const fresh = [m];
      atFrame.set(key, fresh);
      clusters.push(fresh);
    }
  }
  return clusters.map(toCluster).sort((a, b) => b.count - a.count);
}

function typed(m: Merged): string {
  const template = m.template.join(' ');
  return m.type && !template.includes(m.type) ? `${m.type}: ${template}` : template;
}

function toCluster(parts: Merged[]): FailureCluster {
  const sizes = parts.map((m) => m.groups.reduce((n, g) => n + g.failures.length, 0));
  const order = parts.map((_, i) => i).sort((a, b) => sizes[b] - sizes[a]);
  const main = parts[order[0]];
  const failures = order.flatMap((i) => parts[i].groups.flatMap((g) => g.failures));
  const groups = parts.flatMap((m) => m.groups);
  const frame = main.framePart || sharedFrame(groups);
  // Infrastructure failures merged on their deciding line: that line is the root cause, their own lines its symptoms.
  const byEvidence = parts.length > 1 && isInfrastructure(main.decision.category) && main.decision.evidence.length > 0;
  const signature = byEvidence ? normaliseMessage(main.decision.evidence[0]) : typed(main);
  return {
    category: main.decision.category,
    evidence: [...new Set(order.flatMap((i) => parts[i].decision.evidence))].slice(0, MAX_EVIDENCE_LINES),
    signature: frame && !byEvidence ? `${signature} @ ${frame}` : signature,
    count: failures.length,
    representative: main.groups[0].failures[0],
    // Every id: the hand-off file lists them all (the report, status and history take a few).
    tests: failures.map((t) => t.id),
    variants: parts.length > 1 ? order.slice(0, MAX_VARIANTS).map((i) => ({ message: typed(parts[i]), count: sizes[i] })) : [],
  };
}
