/**
 * The `runFailingTests` activity: only the tests that failed in a run, through `suite.selectCommand`
 * (or `suite.rerunFailed`), their ids in $FAILED_TESTS and $FAILED_TESTS_FILE. After a verified fix
 * they run first (an early verdict); under verify-then-promote they run against the candidate, its
 * URL in $STAGING_URL. Only counts go back to the workflow; the reports stay in files.
 */
import { Context } from '@temporalio/activity';
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SuiteConfig } from '../config/types';
import { durationMs } from '../config';
import { countOutcomes, readJUnitFiles, readJUnitTable } from '../diagnosis/junit';
import type { TestCounts } from '../diagnosis/types';
import { runCommand } from '../process';
import { rememberSecretEnv } from '../secrets';
import { cycleDir, cycleWorkDir } from './paths';
import { MAX_FAILED_TESTS_BYTES } from './suite';

export interface FailingTestsInput {
  suite: SuiteConfig;
  cycle: number;
  /** The reports of the run whose failed (or errored) tests run again. */
  fromJunit: string[];
  /** 'candidate': against a candidate revision (its URL in $STAGING_URL); the full suite stands in when no selecting command is set. */
  purpose: 'failed-first' | 'candidate';
  stagingUrl?: string | null;
  /** Variables the loop names as secrets: masked in the output too. */
  secretEnv?: string[];
}

export type FailingTestsRun =
  | { ran: true; selected: number; tests: TestCounts; junitPaths: string[]; durationMs: number }
  | { ran: false; selected: number; why: string; durationMs: number };

/** Ids (`classname::name`) of the failed and errored tests in `junitPaths`; a test that passed on a rerun is not one. */
export async function failedTestIds(junitPaths: string[]): Promise<string[]> {
  const { tests } = await readJUnitFiles(junitPaths.filter((p) => existsSync(p)));
  return tests.filter((t) => t.outcome === 'failed' || t.outcome === 'errored').map((t) => t.id);
}

export async function runFailingTestsIn(reportsDir: string, input: FailingTestsInput): Promise<FailingTestsRun> {
  const ctx = Context.current();
  const { suite, cycle, purpose } = input;
  rememberSecretEnv(input.secretEnv ?? []);
  const started = Date.now();
  const skip = (selected: number, why: string): FailingTestsRun => ({ ran: false, selected, why, durationMs: Date.now() - started });
  // Before the cycle's work folder is made: making it removes the previous cycle's reports.
  if (!input.fromJunit.some((p) => existsSync(p))) return skip(0, "the failing run's JUnit report is not on this worker");
  const ids = await failedTestIds(input.fromJunit);
  if (ids.length === 0) return skip(0, 'no failed tests to run');
  const list = ids.join('\n');
  if (Buffer.byteLength(list) > MAX_FAILED_TESTS_BYTES) return skip(ids.length, `${ids.length} test ids do not fit in $FAILED_TESTS (64 KiB)`);
  const command = suite.selectCommand ?? suite.rerunFailed ?? (purpose === 'candidate' ? suite.command : null);
  if (!command) return skip(ids.length, 'neither suite.selectCommand nor suite.rerunFailed is set');

  const { workflowId } = ctx.info.workflowExecution!;
  const work = cycleWorkDir(workflowId, cycle);
  const junitXml = join(work, `junit-${purpose}.xml`);
  const listPath = join(work, `${purpose}-tests.txt`);
  const outputPath = join(cycleDir(reportsDir, workflowId, cycle), `${purpose}-output.log`);
  rmSync(junitXml, { force: true });
  rmSync(outputPath, { force: true });
  writeFileSync(listPath, `${list}\n`);
  ctx.log.info('running failed tests', { cycle, purpose, count: ids.length });
  const result = await runCommand({
    command,
    cwd: resolve(suite.cwd),
    env: {
      ...process.env,
      ...suite.env,
      JUNIT_XML: junitXml,
      FAILED_TESTS: list,
      FAILED_TESTS_FILE: listPath,
      TDL_CYCLE: String(cycle),
      ...(input.stagingUrl ? { STAGING_URL: input.stagingUrl } : {}),
    },
    timeoutMs: durationMs(suite.timeout),
    outputPath,
    signal: ctx.cancellationSignal,
    onTick: () => ctx.heartbeat({ cycle, purpose }),
  });
  if (result.cancelled) await ctx.cancelled;
  if (!existsSync(junitXml) || statSync(junitXml).size === 0) {
    const how = result.timedOut ? `stopped after suite.timeout (${suite.timeout})` : `exited with code ${result.exitCode}`;
    return skip(ids.length, `the command wrote no JUnit report to $JUNIT_XML (${how}; output in ${outputPath})`);
  }
  const { table } = await readJUnitTable([junitXml]);
  return { ran: true, selected: ids.length, tests: countOutcomes(table.outcomes), junitPaths: [junitXml], durationMs: result.durationMs };
}
