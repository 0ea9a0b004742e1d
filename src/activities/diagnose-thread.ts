/**
 * The CPU-heavy half of the `diagnose` activity, in a worker thread: JUnit parsing, clustering,
 * redaction and report rendering of a hostile report (a 320 KB testcase name, 20,000 cases) take
 * seconds of CPU, during which the worker's event loop must keep answering other loops' queries
 * and heartbeats. Run as a long-lived thread of the pool (one job message in, one reply out, job
 * after job) or called directly.
 */
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { diagnose } from '../diagnosis';
import { clipText } from '../diagnosis/redact';
import { renderCycleReport } from '../diagnosis/report';
import type { Cluster, ProbeEvidence, Verdict } from '../diagnosis/types';
import { LoopError, type FailureType } from '../errors';
import { fingerprintOf } from '../handoff/fingerprint';
import { boundCauseIds } from '../handoff/types';
import { rememberSecretEnv } from '../secrets';
import type { DiagnoseInput } from './diagnose';
import type { RootCause, RunSummary } from '../workflows/state';
import { writeFileAtomic } from './paths';

/** The activity's input, with the probes' evidence (gathered on the main thread: network, not CPU) for their config. */
export interface DiagnoseJob extends Omit<DiagnoseInput, 'probes'> {
  probes: ProbeEvidence | undefined;
  /** The cycle's folder in the reports folder. */
  dir: string;
  /** Variables loops named as secrets (the thread has its own copy of the policy's memory). */
  secretEnv: string[];
}

export interface CycleDiagnosis {
  tests: RunSummary;
  verdict: Verdict;
  rootCauses: RootCause[];
  reportPath: string;
}

/** What the thread posts back: a result, or an error with its LoopError type when it had one. */
export type ThreadReply =
  | { ok: CycleDiagnosis }
  | { error: { name: string; message: string; stack?: string; type?: FailureType } };

/** Bounds on what enters workflow history. */
const MAX_ROOT_CAUSES = 10;
const MAX_TEXT = 240;

const clip = (s: string) => clipText(s, MAX_TEXT, '…');

function toRootCause(c: Cluster): RootCause {
  return {
    category: c.category,
    count: c.count,
    summary: clip(c.message),
    hypothesis: clip(c.hypothesis),
    ...boundCauseIds({ fingerprint: fingerprintOf(c.category, c.signature), tests: c.tests }, false),
  };
}

/** Diagnoses the cycle, writes diagnosis.json and report.md (both redacted), returns the summary for history. */
export async function digest(job: DiagnoseJob): Promise<CycleDiagnosis> {
  rememberSecretEnv(job.secretEnv);
  const { probes } = job;
  const diagnosis = await diagnose(job.junitPaths, { probes });
  writeFileAtomic(join(job.dir, 'diagnosis.json'), JSON.stringify({ ...diagnosis, probes }, null, 2));
  const reportPath = join(job.dir, 'report.md');
  writeFileAtomic(
    reportPath,
    renderCycleReport({
      loopName: job.loopName,
      cycle: job.cycle,
      command: job.command,
      startedAt: job.startedAt,
      durationMs: job.suiteDurationMs,
      diagnosis,
      probes,
    }),
  );
  return {
    tests: { ...diagnosis.tests, durationMs: job.suiteDurationMs },
    verdict: diagnosis.verdict,
    rootCauses: diagnosis.clusters.slice(0, MAX_ROOT_CAUSES).map(toRootCause),
    reportPath,
  };
}

if (parentPort) {
  const port = parentPort;
  port.on('message', (job: DiagnoseJob) =>
    digest(job).then(
      (ok) => port.postMessage({ ok } satisfies ThreadReply),
      (err: Error) =>
        port.postMessage({
          error: { name: err.name, message: err.message, stack: err.stack, type: err instanceof LoopError ? err.type : undefined },
        } satisfies ThreadReply),
    ),
  );
}
