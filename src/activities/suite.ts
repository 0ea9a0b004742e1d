/**
 * The `runSuite` activity: the e2e suite as a child process. Its redacted output goes to the reports
 * folder; its raw JUnit report (which carries whatever the suite printed) stays in the worker's work
 * folder, where the diagnosis reads it.
 */
import { Context } from '@temporalio/activity';
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SuiteConfig } from '../config/types';
import { durationMs } from '../config';
import { readJUnitFiles } from '../diagnosis/junit';
import { FailureType, LoopError } from '../errors';
import { logTail, runCommand } from '../process';
import { rememberSecretEnv } from '../secrets';
import { cycleDir, cycleWorkDir } from './paths';

/** The most $FAILED_TESTS carries; longer lists mean no rerun. */
export const MAX_FAILED_TESTS_BYTES = 64 * 1024;

export interface SuiteRunInput {
  suite: SuiteConfig;
  cycle: number;
  /** Variables the loop names as secrets (tokenEnv, webhookUrlEnv): masked in the suite's output too. */
  secretEnv?: string[];
}

export interface SuiteRun {
  junitPaths: string[];
  outputPath: string;
  durationMs: number;
}

export async function runSuiteIn(reportsDir: string, input: SuiteRunInput): Promise<SuiteRun> {
  const ctx = Context.current();
  const { suite, cycle } = input;
  rememberSecretEnv(input.secretEnv ?? []);
  const cwd = resolve(suite.cwd);
  if (!existsSync(cwd) || !statSync(cwd).isDirectory()) {
    throw new LoopError(FailureType.SuiteNotRunnable, `suite.cwd: folder ${cwd} does not exist`);
  }
  const { workflowId } = ctx.info.workflowExecution!;
  const work = cycleWorkDir(workflowId, cycle);
  const junitXml = join(work, 'junit.xml');
  const junitPath = suite.junitPath ? resolve(cwd, suite.junitPath) : junitXml;
  const outputPath = join(cycleDir(reportsDir, workflowId, cycle), 'suite-output.log');
  // A retried attempt must not read the previous attempt's report.
  rmSync(junitPath, { force: true });
  rmSync(outputPath, { force: true });

  ctx.log.info('suite started', { cycle, cwd });
  const result = await runCommand({
    command: suite.command,
    cwd,
    env: { ...process.env, ...suite.env, JUNIT_XML: junitXml, TDL_CYCLE: String(cycle) },
    timeoutMs: durationMs(suite.timeout),
    outputPath,
    signal: ctx.cancellationSignal,
    onTick: () => ctx.heartbeat({ cycle }),
  });
  ctx.log.info('suite finished', { cycle, exitCode: result.exitCode, durationMs: result.durationMs });
  if (result.cancelled) {
    // The process group is gone; let Temporal record the cancellation.
    await ctx.cancelled;
  }
  if (result.exitCode === 127 || result.exitCode === 126) {
    throw new LoopError(
      FailureType.SuiteNotRunnable,
      `suite.command could not be run (exit ${result.exitCode}: ${result.exitCode === 127 ? 'command not found' : 'not executable'}): ${logTail(outputPath, 3)}`,
    );
  }
  if (!existsSync(junitPath) || statSync(junitPath).size === 0) {
    const why = result.timedOut ? `it was stopped after suite.timeout (${suite.timeout})` : `it exited with code ${result.exitCode}`;
    throw new LoopError(
      FailureType.NoJUnitReport,
      `the suite wrote no JUnit XML report at ${junitPath} (${why}); make the runner write to $JUNIT_XML ` +
        `or set suite.junitPath. Last output:\n${logTail(outputPath, 8)}`,
    );
  }
  const rerunPath = suite.rerunFailed ? await rerunFailed(suite, cwd, work, junitPath, outputPath, ctx) : null;
  return {
    junitPaths: rerunPath ? [junitPath, rerunPath] : [junitPath],
    outputPath,
    durationMs: result.durationMs,
  };
}

/**
 * suite.rerunFailed: runs only the failed tests once more, their ids (`classname::name`, as in the
 * JUnit report) in $FAILED_TESTS (one a line) and $FAILED_TESTS_FILE. The diagnosis reads both
 * reports, so a test that passes on the rerun counts as flaky. Returns the rerun's report, if any.
 */
async function rerunFailed(
  suite: SuiteConfig,
  cwd: string,
  work: string,
  junitPath: string,
  outputPath: string,
  ctx: Context,
): Promise<string | null> {
  const { tests } = await readJUnitFiles([junitPath]);
  const failed = tests.filter((t) => t.outcome === 'failed' || t.outcome === 'errored').map((t) => t.id);
  if (failed.length === 0) return null;
  const list = failed.join('\n');
  if (Buffer.byteLength(list) > MAX_FAILED_TESTS_BYTES) {
    // Too long for one environment variable (Linux refuses a spawn with one over 128 KiB); a rerun
    // with the list cut short would rerun the wrong tests: the first run's failures stand.
    ctx.log.warn('no rerun: the failed tests do not fit in $FAILED_TESTS', { count: failed.length, bytes: Buffer.byteLength(list) });
    return null;
  }
  const rerunXml = join(work, 'junit-rerun.xml');
  const listPath = join(work, 'failed-tests.txt');
  rmSync(rerunXml, { force: true });
  writeFileSync(listPath, `${list}\n`);
  ctx.log.info('rerunning failed tests', { count: failed.length });
  const rerun = await runCommand({
    command: suite.rerunFailed!,
    cwd,
    env: { ...process.env, ...suite.env, JUNIT_XML: rerunXml, FAILED_TESTS: list, FAILED_TESTS_FILE: listPath },
    timeoutMs: durationMs(suite.timeout),
    outputPath,
    signal: ctx.cancellationSignal,
    onTick: () => ctx.heartbeat({ rerun: failed.length }),
  });
  if (rerun.cancelled) await ctx.cancelled;
  // A rerun that wrote nothing changes nothing: the first run's failures stand.
  return existsSync(rerunXml) && statSync(rerunXml).size > 0 ? rerunXml : null;
}
