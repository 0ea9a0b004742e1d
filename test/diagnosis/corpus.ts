/**
 * The real-world corpus in test/fixtures/real/: reports copied unchanged from public projects, each
 * with what a careful engineer expects (manifest-*.json). Scores the engine on them; used by the
 * corpus test and the corpus bench alike.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { diagnose } from '../../src/diagnosis';
import type { Category, Diagnosis, TestCounts, Verdict } from '../../src/diagnosis/types';
import { REPO_ROOT } from './helpers';

export const CORPUS_DIR = path.join(REPO_ROOT, 'test/fixtures/real');

export interface CorpusEntry {
  /** Relative to CORPUS_DIR. */
  files: string[];
  tool: string;
  source: { repo: string; commit: string; paths: string[] };
  expected: { tests: TestCounts; verdict: Verdict; rootCauses: { category: Category; count: number; what: string }[] };
  notes?: string;
  /** The manifest it came from. */
  manifest: string;
}

export interface Scored {
  entry: CorpusEntry;
  got: Diagnosis;
  /** What differs from the expectation; empty when the engine got it right. */
  wrong: string[];
}

const COUNT_KEYS = ['total', 'passed', 'failed', 'errored', 'skipped', 'flaky'] as const;

export function loadCorpus(dir = CORPUS_DIR): CorpusEntry[] {
  if (!fs.existsSync(dir)) return [];
  const manifests = fs.readdirSync(dir).filter((f) => /^manifest-.*\.json$/.test(f)).sort();
  return manifests.flatMap((manifest) => {
    const entries = JSON.parse(fs.readFileSync(path.join(dir, manifest), 'utf8')) as Omit<CorpusEntry, 'manifest'>[];
    if (!Array.isArray(entries)) throw new Error(`${manifest}: expected a JSON array of entries`);
    return entries.map((e) => ({ ...e, manifest }));
  });
}

/** `category count` of the largest root cause, `none` when there is none. */
function largest(causes: readonly { category: Category; count: number }[]): string {
  if (causes.length === 0) return 'none';
  const max = Math.max(...causes.map((c) => c.count));
  return causes
    .filter((c) => c.count === max)
    .map((c) => `${c.category} ${c.count}`)
    .join(' | ');
}

/**
 * Right when the verdict, all six counts and the largest root cause (category and count) match.
 * Root causes tied for largest are interchangeable: the expected first one must be among them.
 */
export async function score(entry: CorpusEntry, dir = CORPUS_DIR): Promise<Scored> {
  const got = await diagnose(entry.files.map((f) => path.join(dir, f)));
  const wrong: string[] = [];
  const e = entry.expected;
  if (got.verdict !== e.verdict) wrong.push(`verdict: expected ${e.verdict}, got ${got.verdict}`);
  const counts = COUNT_KEYS.filter((k) => got.tests[k] !== e.tests[k]);
  if (counts.length > 0) wrong.push(`counts: expected ${counts.map((k) => `${k} ${e.tests[k]}`).join(', ')}; got ${counts.map((k) => `${k} ${got.tests[k]}`).join(', ')}`);
  const expectedTop = e.rootCauses.length === 0 ? 'none' : `${e.rootCauses[0].category} ${Math.max(...e.rootCauses.map((c) => c.count))}`;
  const gotTop = largest(got.clusters);
  if (!gotTop.split(' | ').includes(expectedTop)) wrong.push(`largest root cause: expected ${expectedTop}, got ${gotTop}`);
  return { entry, got, wrong };
}

export interface CategoryScore {
  category: Category;
  tp: number;
  fp: number;
  fn: number;
}

/** Per report and category: TP = min(expected, got) failures, FP = got - TP, FN = expected - TP; summed. */
export function categoryScores(scored: readonly Scored[]): CategoryScore[] {
  const totals = new Map<Category, CategoryScore>();
  for (const { entry, got } of scored) {
    const expected = sumByCategory(entry.expected.rootCauses);
    const actual = sumByCategory(got.clusters);
    for (const category of new Set([...expected.keys(), ...actual.keys()])) {
      const [exp, act] = [expected.get(category) ?? 0, actual.get(category) ?? 0];
      const tp = Math.min(exp, act);
      const t = totals.get(category) ?? { category, tp: 0, fp: 0, fn: 0 };
      t.tp += tp;
      t.fp += act - tp;
      t.fn += exp - tp;
      totals.set(category, t);
    }
  }
  return [...totals.values()].sort((a, b) => a.category.localeCompare(b.category));
}

function sumByCategory(causes: readonly { category: Category; count: number }[]): Map<Category, number> {
  const out = new Map<Category, number>();
  for (const c of causes) out.set(c.category, (out.get(c.category) ?? 0) + c.count);
  return out;
}

export function describeEntry(entry: CorpusEntry): string {
  return `${entry.manifest}: ${entry.tool} ${entry.files.join(', ')}`;
}

/** SOURCES.md: where each report comes from and what is expected of it, rendered from the manifests. */
export function sourcesMarkdown(entries: readonly CorpusEntry[]): string {
  const tools = new Set(entries.map((e) => e.tool)).size;
  const rows = entries.map((e) => {
    const t = e.expected.tests;
    const top = e.expected.rootCauses[0];
    const code = (s: string) => `\`${s}\``;
    return `| ${e.files.map(code).join('<br>')} | ${e.tool} | ${e.source.repo} @ ${code(e.source.commit.slice(0, 12))} : ${e.source.paths.map(code).join('<br>')} | ${e.expected.verdict} | ${COUNT_KEYS.map((k) => t[k]).join('/')} | ${top ? `${top.category} ×${Math.max(...e.expected.rootCauses.map((c) => c.count))}` : '–'} |`;
  });
  return [
    '# The real-world corpus',
    '',
    'JUnit XML reports copied unchanged from public repositories (test data only), each with the answer',
    'a careful engineer gave after reading it, written down before the engine saw it; where the lead',
    'regrouped an answer on review, the entry\'s notes say so and why. The full commit, every expected',
    'root cause and the reasoning are in `manifest-*.json`; `test/diagnosis/real-corpus.test.ts` scores the',
    `engine on every entry. ${entries.length} reports from ${tools} tools.`,
    '',
    'This file is generated: `node dist/test/diagnosis/corpus.js --write-sources`.',
    'Counts are total/passed/failed/errored/skipped/flaky.',
    '',
    '| files | tool | source (repository @ commit : path) | verdict | counts | largest root cause |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

export const SOURCES_PATH = path.join(CORPUS_DIR, 'SOURCES.md');

if (require.main === module && process.argv.includes('--write-sources')) fs.writeFileSync(SOURCES_PATH, sourcesMarkdown(loadCorpus()));
