/**
 * The `diagnose` activity: the diagnosis engine on the cycle's JUnit files plus live probes. The full
 * diagnosis and report go to files; only counts and root-cause summaries go back to the workflow, so
 * history stays the same size at 10 tests and at 10,000.
 */
import { Context } from '@temporalio/activity';
import { join } from 'node:path';
import type { ProbesConfig } from '../config/types';
import { diagnose } from '../diagnosis';
import { runProbes } from '../diagnosis/probes';
import { clipText } from '../diagnosis/redact';
import { renderCycleReport } from '../diagnosis/report';
import type { Cluster, Verdict } from '../diagnosis/types';
import type { RootCause, RunSummary } from '../workflows/state';
import { cycleDir, writeFileAtomic } from './paths';

export interface DiagnoseInput {
  loopName: string;
  cycle: number;
  command: string;
  startedAt: string;
  junitPaths: string[];
  suiteDurationMs: number;
  probes: ProbesConfig;
}

export interface CycleDiagnosis {
  tests: RunSummary;
  verdict: Verdict;
  rootCauses: RootCause[];
  reportPath: string;
  warnings: string[];
}

/** Bounds on what enters workflow history. */
const MAX_ROOT_CAUSES = 10;
const MAX_WARNINGS = 5;
const MAX_TEXT = 240;

const clip = (s: string) => clipText(s, MAX_TEXT, '…');

function toRootCause(c: Cluster): RootCause {
  return { category: c.category, count: c.count, summary: clip(c.message), hypothesis: clip(c.hypothesis) };
}

export async function diagnoseIn(reportsDir: string, input: DiagnoseInput): Promise<CycleDiagnosis> {
  const ctx = Context.current();
  const hasProbes = Boolean(input.probes.websocket || input.probes.jwt || input.probes.http);
  const probes = hasProbes ? await runProbes(input.probes, process.env, { signal: ctx.cancellationSignal }) : undefined;
  const diagnosis = await diagnose(input.junitPaths, { probes });
  const dir = cycleDir(reportsDir, ctx.info.workflowExecution!.workflowId, input.cycle);
  writeFileAtomic(join(dir, 'diagnosis.json'), JSON.stringify({ ...diagnosis, probes }, null, 2));
  const reportPath = join(dir, 'report.md');
  writeFileAtomic(
    reportPath,
    renderCycleReport({
      loopName: input.loopName,
      cycle: input.cycle,
      command: input.command,
      startedAt: input.startedAt,
      durationMs: input.suiteDurationMs,
      diagnosis,
      probes,
    }),
  );
  ctx.log.info('diagnosed', { cycle: input.cycle, verdict: diagnosis.verdict, clusters: diagnosis.clusters.length });
  return {
    tests: { ...diagnosis.tests, durationMs: input.suiteDurationMs },
    verdict: diagnosis.verdict,
    rootCauses: diagnosis.clusters.slice(0, MAX_ROOT_CAUSES).map(toRootCause),
    reportPath,
    warnings: diagnosis.warnings.slice(0, MAX_WARNINGS).map(clip),
  };
}
