/**
 * The hand-off document: what a fix team (people or coding agents) needs to fix a cycle, versioned,
 * declared in ./schema. The workflow builds it from its bounded state (`handoff` query, `tdl handoff`); the notify
 * activity adds what only the cycle's files hold (every test id, evidence, probes) and writes it to
 * the file the hand-off command gets as $TDL_HANDOFF_FILE. Pure: the workflow bundles it.
 */
import type { LoopConfig } from '../config/types';
import type { CycleRecord, LoopStatus } from '../workflows/state';
import { diffCycles } from './diff';
import type { HandoffDocument } from './schema';
import { emptyMemory, HANDOFF_SCHEMA_VERSION } from './types';

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The newest cycle that ran a diagnosis: the one the fix team is asked to fix. */
function diagnosed(s: LoopStatus): CycleRecord | null {
  for (let i = s.cycles.length - 1; i >= 0; i--) if (s.cycles[i].verdict) return s.cycles[i];
  return null;
}

/** The document from the loop's bounded state; the same function for the query and the notification. */
export function buildHandoff(s: LoopStatus, config: LoopConfig, workflowId: string): HandoffDocument {
  const memory = s.handoff ?? emptyMemory();
  const cycle = diagnosed(s);
  const previous = cycle ? (s.cycles[s.cycles.indexOf(cycle) - 1] ?? null) : null;
  const diff = cycle ? (cycle.diff ?? diffCycles(previous, cycle.rootCauses, [])) : null;
  const statusOf = (fp: string): 'still-failing' | 'regressed' | 'new' | null =>
    diff?.stillFailing.some((e) => e.fingerprint === fp) ? 'still-failing' : diff?.regressed.some((e) => e.fingerprint === fp) ? 'regressed' : diff ? 'new' : null;
  const rootCauses = (cycle?.rootCauses ?? [])
    .filter((r) => r.fingerprint)
    .map((r) => ({
      fingerprint: r.fingerprint!,
      category: r.category,
      count: r.count,
      message: r.summary,
      hypothesis: r.hypothesis,
      status: statusOf(r.fingerprint!),
      attempts: memory.attempts[r.fingerprint!] ?? 0,
      tests: r.tests ?? [],
    }));
  const fixes = s.cycles.flatMap((c) =>
    c.fix
      ? [
          {
            cycle: c.cycle,
            commit: c.fix.commit,
            summary: c.fix.summary,
            author: c.fix.author,
            agent: c.fix.agent ?? null,
            prUrl: c.fix.prUrl ?? null,
            branch: c.fix.branch ?? null,
            addresses: c.fix.addresses ?? [],
            outcome: c.outcome,
          },
        ]
      : [],
  );
  const lastDeploy = [...s.cycles].reverse().find((c) => c.deploy && c.deploy.error === null)?.deploy ?? null;
  const lastVerify = [...s.cycles].reverse().find((c) => c.verify)?.verify ?? null;
  const id = shellQuote(workflowId);
  return {
    schemaVersion: HANDOFF_SCHEMA_VERSION,
    loop: {
      workflowId,
      name: s.name,
      cycle: s.cycle,
      maxCycles: s.maxCycles,
      cyclesLeft: Math.max(0, s.maxCycles - s.cycle),
      attempt: fixes.length + (s.earlierCycles?.fixes ?? 0) + 1,
      maxAttemptsPerCause: config.handoff.maxAttemptsPerCause,
      phase: s.phase,
      waitingFor: s.waitingFor,
    },
    rootCauses,
    diff,
    reproduce: {
      suiteCommand: config.suite.command,
      suiteUse: config.suite.use,
      cwd: config.suite.cwd,
      rerunCommand: config.suite.rerunFailed,
      mustPass: rootCauses.flatMap((r) => r.tests),
    },
    fixes,
    staging: {
      revision: lastDeploy?.revision ?? null,
      healthy: lastVerify?.healthy ?? null,
      url: config.verify.url,
      pendingFix: s.pendingFix?.commit ?? null,
    },
    escalation: memory.escalation,
    links: {
      report: cycle?.reportPath ?? null,
      diagnosis: cycle?.reportPath ? cycle.reportPath.replace(/report\.md$/, 'diagnosis.json') : null,
      suiteOutput: cycle?.outputPath ?? null,
      handoffFile: null,
    },
    respond: {
      fix: `tdl fix ${id} --commit SHA --addresses ${rootCauses.map((r) => r.fingerprint).join(',') || 'FP'} [--pr URL] [--branch NAME] [--agent NAME]`,
      cannotFix: `tdl cannot-fix ${id} --reason TEXT [--fingerprints FP,FP]`,
    },
  };
}
