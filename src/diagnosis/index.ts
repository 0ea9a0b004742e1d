/**
 * The diagnosis engine: JUnit reports (+ live probe evidence) in, redacted Diagnosis out.
 * Used by `tdl diagnose` and by the loop's `diagnose` activity alike.
 */
import { applyProbes, hypothesisFor, verdictOf } from './categorize';
import { clusterFailures } from './cluster';
import { isTitleMessage } from './failure-text';
import { countOutcomes, readJUnitTable, type TestResult, type TestTable } from './junit';
import { clipText, redactDeep } from './redact';
import type { Cluster, Diagnosis, ProbeEvidence } from './types';

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

/** Diagnoses one run's JUnit files. Throws LoopError(NoJUnitReport) for a missing or non-JUnit file. */
export async function diagnose(junitPaths: readonly string[], options: DiagnoseOptions = {}): Promise<Diagnosis> {
  // Tests are read into columns: a 20,000-case report has a handful of failures and no need for
  // 20,000 result objects. Only failing tests (and the few listed) become TestResults.
  const { table, warnings } = await readJUnitTable(junitPaths);
  if (table.size === 0) warnings.push(`no test cases in ${junitPaths.join(', ')}`);
  const { outcomes, times } = table;
  const counts = countOutcomes(outcomes);
  const failures: TestResult[] = [];
  const flakyTests: string[] = [];
  let durationMs = 0;
  for (let i = 0; i < outcomes.length; i++) {
    const outcome = outcomes[i];
    if (outcome === 'failed' || outcome === 'errored') failures.push(table.result(i));
    else if (outcome === 'flaky' && flakyTests.length < MAX_FLAKY_LISTED) flakyTests.push(table.id(i));
    durationMs += times[i];
  }
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
      variants: c.variants,
    })),
    options.probes,
  );
  const diagnosis: Diagnosis = {
    tests: counts,
    verdict: verdictOf(counts, clusters),
    clusters,
    warnings,
    durationMs,
    flakyTests,
    slowestTests: slowest(table, SLOWEST_LISTED).map((i) => ({ id: table.id(i), timeMs: times[i] })),
  };
  return redactDeep(diagnosis, options.secrets);
}

/** The slots of the n slowest tests in one pass (no sort of thousands of tests for five names). */
function slowest(table: TestTable, n: number): number[] {
  const { times } = table;
  const top: number[] = [];
  for (let i = 0; i < times.length; i++) {
    if (top.length === n && times[i] <= times[top[n - 1]]) continue;
    top.push(i);
    top.sort((a, b) => times[b] - times[a]);
    if (top.length > n) top.pop();
  }
  return top;
}

/** The failure's own words: message attribute (unless it is Playwright's test title), else the start of its body. */
function representativeMessage(test: TestResult): string {
  const f = test.failure;
  if (!f) return '';
  const message = isTitleMessage(f.message) ? '' : f.message.trim();
  const text = message || f.body.trim();
  return clipText(text, 500, '…');
}
