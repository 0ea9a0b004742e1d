/**
 * Failed tests first: after a verified fix, the tests that failed run before the full suite, for an
 * early verdict. The same judgement decides whether a candidate revision passed its tests. Pure: the
 * workflow decides with it, the unit tests check it.
 */
import type { FailingTestsRun } from '../activities/failing-tests';
import type { SuiteChoice } from '../config/types';

export interface FailingTestsRecord {
  /** Tests that had failed and were asked to run again. */
  selected: number;
  /** Of those: passed now (a pass on the runner's own retry counts), failed or errored, absent from the report. */
  passed: number;
  failed: number;
  notRun: number;
  durationMs: number;
  /** fixed: every test that ran passed; still-failing: some failed again; inconclusive: none ran. */
  verdict: 'fixed' | 'still-failing' | 'inconclusive';
  /** "24/24 previously failing tests pass", for status and notifications. */
  summary: string;
}

/** Whether this cycle runs the previous failures first: right after a verified fix, with a way to select tests. */
export function runsFailedFirst(suite: SuiteChoice, afterVerifiedFix: boolean): boolean {
  return afterVerifiedFix && Boolean(suite.selectCommand || suite.rerunFailed || suite.use);
}

export function judgeFailingTests(run: FailingTestsRun): FailingTestsRecord {
  const base = { selected: run.selected, durationMs: run.durationMs };
  if (!run.ran) {
    return { ...base, passed: 0, failed: 0, notRun: run.selected, verdict: 'inconclusive', summary: `previously failing tests not run: ${run.why}` };
  }
  const t = run.tests;
  const passed = t.passed + t.flaky;
  const failed = t.failed + t.errored;
  const notRun = Math.max(0, run.selected - passed - failed);
  const absent = notRun > 0 ? ` (${notRun} not run)` : '';
  if (failed > 0) {
    return { ...base, passed, failed, notRun, verdict: 'still-failing', summary: `${failed}/${run.selected} previously failing tests still fail${absent}` };
  }
  if (passed === 0) {
    return { ...base, passed, failed, notRun, verdict: 'inconclusive', summary: `none of the ${run.selected} previously failing tests ran` };
  }
  return { ...base, passed, failed, notRun, verdict: 'fixed', summary: `${passed}/${run.selected} previously failing tests pass${absent}` };
}

/** The early verdict as status and notifications give it, with what the cycle does next. */
export function failedFirstHeadline(r: FailingTestsRecord): string {
  if (r.verdict === 'still-failing') return `${r.summary}: back to the fix team without the full suite`;
  return `${r.summary}; running the full suite`;
}
