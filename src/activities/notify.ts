/** The `notify` activity: tells the fix team or the infrastructure team, with the cycle's report. */
import { fileURLToPath } from 'node:url';
import { Context } from '@temporalio/activity';
import { ArtifactError, type ArtifactStore } from '../artifacts';
import type { HandoffConfig } from '../config/types';
import { FailureType, LoopError } from '../errors';
import { notify, type NotifyTarget } from '../notify';
import { rememberSecretEnv } from '../secrets';

export interface NotifyInput {
  handoff: HandoffConfig;
  audience: 'fix-team' | 'infra-team';
  loopName: string;
  workflowId: string;
  cycle: number;
  phase: string;
  headline: string;
  reportPath: string | null;
}

/** The webhook URL, read on the worker when the input names its variable (so it never enters history). */
export function notifyTarget(handoff: HandoffConfig, env: NodeJS.ProcessEnv): NotifyTarget {
  const name = handoff.webhookUrlEnv;
  if (!name) return { webhookUrl: handoff.webhookUrl, command: handoff.command };
  rememberSecretEnv([name]);
  const webhookUrl = env[name];
  if (!webhookUrl) {
    throw new LoopError(FailureType.NotifyRejected, `handoff.webhookUrlEnv: ${name} is not set on the worker; set it in the worker's environment`);
  }
  return { webhookUrl, command: handoff.command, webhookField: `handoff.webhookUrlEnv (${name})` };
}

/**
 * The report's text; a report this worker cannot reach (another host's local folder) still leaves
 * its URL in the notification, so the message goes out rather than failing over and over.
 */
async function readReport(url: string, artifacts: Pick<ArtifactStore, 'read'>): Promise<string> {
  try {
    return (await artifacts.read(url)).toString('utf8');
  } catch (err) {
    if (!(err instanceof ArtifactError)) throw err;
    Context.current().log.warn('report not readable from this worker', { error: err.message });
    return `The full report is at ${url} (not readable from the worker that sent this: ${err.message}).`;
  }
}

/** `artifacts` reads the report from wherever the diagnosing worker published it. */
export async function notifyTeam(input: NotifyInput, artifacts: Pick<ArtifactStore, 'read'>): Promise<void> {
  const ctx = Context.current();
  const target = notifyTarget(input.handoff, process.env);
  const report = input.reportPath ? await readReport(input.reportPath, artifacts) : '';
  await notify(
    target,
    {
      audience: input.audience,
      loop: input.loopName,
      workflowId: input.workflowId,
      cycle: input.cycle,
      phase: input.phase,
      text: input.headline,
      report,
      // A hand-off command reads $TDL_REPORT_PATH as a file: a local report keeps its plain path.
      reportPath: input.reportPath?.startsWith('file://') ? fileURLToPath(input.reportPath) : input.reportPath,
    },
    { signal: ctx.cancellationSignal },
  );
  ctx.log.info('notified', { audience: input.audience, cycle: input.cycle });
}
