/**
 * The loop's activities, bound to this worker's reports folder, its artifact store and its own task
 * queue. Every file a step writes is published to the store and handed back as a URL, so any worker
 * and any person can read it. The workflow imports only the type.
 */
import { dirname, join } from 'node:path';
import { Context } from '@temporalio/activity';
import { createArtifactStore, type ArtifactStore } from '../artifacts';
import { redact } from '../diagnosis/redact';
import { FailureType, LoopError } from '../errors';
import type { DeployChoice, HandoffChoice, SuiteChoice } from '../config/types';
import { resolveCommands, type CommandPolicy } from '../policy';
import {
  deployCandidateIn,
  deployIn,
  discardCandidate,
  promoteCandidate,
  rollbackTo,
  type CandidateInput,
  type CandidateStepInput,
  type DeployInput,
  type RollbackInput,
} from './deploy';
import { runFailingTestsIn, type FailingTestsInput } from './failing-tests';
import { diagnoseIn, type DiagnoseInput } from './diagnose';
import { serviceLogsIn, type ServiceLogsInput } from './logs';
import { typed } from './failures';
import { notifyTeam, type NotifyInput } from './notify';
import { loopDir, removeWorkDir, writeFileAtomic } from './paths';
import { runSuiteIn, type SuiteRunInput } from './suite';
import { verifyHealth, type VerifyInput } from './verify';

export interface ActivityDeps {
  /** Absolute path of this worker's reports folder, where steps write before publishing. */
  reportsDir: string;
  /** The worker's command policy (src/policy.ts); null: inline commands from any input run. */
  commands?: CommandPolicy | null;
  /** Where reports are published; default: the reports folder itself. */
  artifacts?: ArtifactStore;
  /** The task queue only this worker polls: the suite returns it so the cycle's diagnosis comes back here. */
  hostQueue?: string;
}

/** Heartbeats while a step that reads this worker's files waits (for a diagnosis thread, say): a dead worker is noticed in seconds. */
const HOST_HEARTBEAT_MS = 1000;

/** The suite step's input as the workflow sends it: the loop's commands as the input chose them. */
export type SuiteStepInput = Omit<SuiteRunInput, 'suite'> & { suite: SuiteChoice; deploy?: DeployChoice; handoff?: HandoffChoice };

export function createActivities({ reportsDir, commands = null, artifacts = createArtifactStore(reportsDir), hostQueue }: ActivityDeps) {
  return {
    // The loop's first step checks all of its commands: one the worker refuses ends the loop at once.
    runSuite: ({ deploy, handoff, ...input }: SuiteStepInput) =>
      typed(async () => {
        const run = await runSuiteIn(reportsDir, { ...input, suite: resolveCommands(commands, { suite: input.suite, deploy, handoff }).suite });
        return { ...run, outputPath: await artifacts.publish(run.outputPath), hostQueue };
      }),
    diagnose: (input: DiagnoseInput) =>
      typed(async () => {
        const ctx = Context.current();
        // From the start, through the probes and the wait for a diagnosis thread.
        const ticker = setInterval(() => ctx.heartbeat({ cycle: input.cycle }), HOST_HEARTBEAT_MS);
        try {
          const d = await diagnoseIn(reportsDir, input);
          await artifacts.publish(join(dirname(d.reportPath), 'diagnosis.json'));
          return { ...d, reportPath: await artifacts.publish(d.reportPath) };
        } finally {
          clearInterval(ticker);
        }
      }),
    deploy: (input: Omit<DeployInput, 'deploy'> & { deploy: DeployChoice }) =>
      typed(async () => {
        const d = await deployIn(reportsDir, { ...input, ...resolveCommands(commands, { deploy: input.deploy }) });
        return { ...d, logPath: d.logPath && (await artifacts.publish(d.logPath)) };
      }),
    rollback: (input: Omit<RollbackInput, 'deploy'> & { deploy: DeployChoice }) =>
      typed(async () => rollbackTo({ ...input, ...resolveCommands(commands, { deploy: input.deploy }) })),
    verify: (input: VerifyInput) => typed(() => verifyHealth(input)),
    serviceLogs: (input: Omit<ServiceLogsInput, 'deploy'> & { deploy: DeployChoice }) =>
      typed(async () => {
        // An inline command like any other: a policy that refuses them refuses this one too.
        if (input.verify.logsCommand && commands && !commands.allowInline) {
          throw new LoopError(FailureType.CommandNotAllowed, "verify.logsCommand: this worker runs only the commands its policy names, not inline ones");
        }
        return serviceLogsIn(reportsDir, { ...input, ...resolveCommands(commands, { deploy: input.deploy }) });
      }),
    runFailingTests: (input: Omit<FailingTestsInput, 'suite'> & { suite: SuiteChoice }) =>
      typed(async () => ({ ...(await runFailingTestsIn(reportsDir, { ...input, ...resolveCommands(commands, { suite: input.suite }) })), hostQueue })),
    deployCandidate: (input: Omit<CandidateInput, 'deploy'> & { deploy: DeployChoice }) =>
      typed(async () => deployCandidateIn(reportsDir, { ...input, ...resolveCommands(commands, { deploy: input.deploy }) })),
    promote: (input: Omit<CandidateStepInput, 'deploy'> & { deploy: DeployChoice }) =>
      typed(async () => promoteCandidate({ ...input, ...resolveCommands(commands, { deploy: input.deploy }) })),
    discard: (input: Omit<CandidateStepInput, 'deploy' | 'revision'> & { deploy: DeployChoice }) =>
      typed(async () => discardCandidate({ ...input, ...resolveCommands(commands, { deploy: input.deploy }) })),
    notify: (input: Omit<NotifyInput, 'handoff'> & { handoff: HandoffChoice }) =>
      typed(async () => notifyTeam(reportsDir, { ...input, ...resolveCommands(commands, { handoff: input.handoff }) }, artifacts)),
    /** Writes the loop's report (Markdown) next to its cycles, at the loop's end; returns its URL. */
    // Redacted again: fix summaries and notes come from whoever sent the messages.
    saveReport: (markdown: string) =>
      typed(async () => {
        const { workflowId } = Context.current().info.workflowExecution!;
        const path = join(loopDir(reportsDir, workflowId), 'loop-report.md');
        writeFileAtomic(path, redact(markdown));
        removeWorkDir(workflowId);
        return artifacts.publish(path);
      }),
  };
}

export type LoopActivities = ReturnType<typeof createActivities>;
