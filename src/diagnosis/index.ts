/**
 * The diagnosis engine: JUnit reports (+ live probe evidence) in, redacted Diagnosis out.
 * Used by `tdl diagnose` and by the loop's `diagnose` activity alike.
 */
import { applyProbes, hypothesisFor, verdictOf } from './categorize';
import { clusterFailures } from './cluster';
import { readJUnitFiles, type TestResult } from './junit';
import { redactDeep } from './redact';
import type { Cluster, Diagnosis, ProbeEvidence, TestCounts } from './types';

export type * from './types';
export { fingerprintToken, formatFingerprint, redact, redactDeep } from './redact';

const MAX_FLAKY_LISTED = 50;
const SLOWEST_LISTED = 5;

export interface DiagnoseOptions {
  /** Live probe evidence (runProbes); it can decide categories. */
  probes?: ProbeEvidence;
  /** Values to mask besides the secret-named environment variables. */
  secrets?: string[];
}

export function countTests(tests: readonly TestResult[]): TestCounts {
  const counts: TestCounts = { total: tests.length, passed: 0, failed: 0, errored: 0, skipped: 0, flaky: 0 };
  for (const t of tests) counts[t.outcome]++;
  return counts;
}

/** Diagnoses one run's JUnit files. Throws LoopError(NoJUnitReport) for a missing or non-JUnit file. */
export async function diagnose(junitPaths: readonly string[], options: DiagnoseOptions = {}): Promise<Diagnosis> {
  const { tests, warnings } = await readJUnitFiles(junitPaths);
  if (tests.length === 0) warnings.push(`no test cases in ${junitPaths.join(', ')}`);
  const counts = countTests(tests);
  const failures = tests.filter((t) => t.outcome === 'failed' || t.outcome === 'errored');
  const clusters: Cluster[] = applyProbes(
    clusterFailures(failures).map((c) => ({
      category: c.category,
      count: c.count,
      signature: c.signature,
      message: representativeMessage(c.representative),
      tests: c.tests,
      hypothesis: hypothesisFor(c.category, c.evidence),
      evidence: c.evidence,
      decidedBy: 'messages' as const,
    })),
    options.probes,
  );
  const diagnosis: Diagnosis = {
    tests: counts,
    verdict: verdictOf(counts, clusters),
    clusters,
    warnings,
    durationMs: tests.reduce((ms, t) => ms + t.timeMs, 0),
    flakyTests: tests.filter((t) => t.outcome === 'flaky').slice(0, MAX_FLAKY_LISTED).map((t) => t.id),
    slowestTests: slowest(tests, SLOWEST_LISTED).map((t) => ({ id: t.id, timeMs: t.timeMs })),
  };
  return redactDeep(diagnosis, options.secrets);
}

/** The n slowest tests in one pass (no sort of thousands of tests for five names). */
function slowest(tests: readonly TestResult[], n: number): TestResult[] {
  const top: TestResult[] = [];
  for (const t of tests) {
    if (top.length === n && t.timeMs <= top[n - 1].timeMs) continue;
    top.push(t);
    top.sort((a, b) => b.timeMs - a.timeMs);
    if (top.length > n) top.pop();
  }
  return top;
}

/** The failure's own words: message attribute, else the start of its body. */
function representativeMessage(test: TestResult): string {
  const f = test.failure;
  if (!f) return '';
  const text = f.message.trim() || f.body.trim();
  return text.length > 500 ? `${text.slice(0, 499)}…` : text;
}
