/** The `notify` activity: tells the fix team or the infrastructure team, with the cycle's report. */
import { fileURLToPath } from 'node:url';
import { Context } from '@temporalio/activity';
import { ArtifactError, type ArtifactStore } from '../artifacts';
import type { HandoffConfig } from '../config/types';
import { FailureType, LoopError } from '../errors';
import { durationMs } from '../config';
import type { HandoffDocument } from '../handoff/schema';
import { forWebhook, writeHandoffFile } from '../handoff/file';
import { notify, type NotifyTarget } from '../notify';
import { rememberSecretEnv } from '../secrets';
import { cycleDir } from './paths';

export interface NotifyInput {
  handoff: HandoffConfig;
  audience: 'fix-team' | 'infra-team';
  loopName: string;
  workflowId: string;
  cycle: number;
  phase: string;
  headline: string;
  reportPath: string | null;
  /** The hand-off document (fix team): completed from the cycle's files, written to $TDL_HANDOFF_FILE, sent on stdin and to the webhook. */
  document?: HandoffDocument;
  /** An escalation goes to the webhook ("needs a person"; the command when there is no webhook); a reminder says so. */
  kind?: 'reminder' | 'escalation' | null;
}

/** The webhook URL, read on the worker when the input names its variable (so it never enters history). */
export function notifyTarget(handoff: Pick<HandoffConfig, 'webhookUrl' | 'webhookUrlEnv' | 'command'>, env: NodeJS.ProcessEnv): NotifyTarget {
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
 * An artifact's text, or null when this worker cannot reach it (another host's local folder): the
 * message still goes out, with the URL, rather than failing over and over.
 */
async function readArtifact(url: string, artifacts: Pick<ArtifactStore, 'read'>): Promise<string | null> {
  try {
    return (await artifacts.read(url)).toString('utf8');
  } catch (err) {
    if (!(err instanceof ArtifactError)) throw err;
    Context.current().log.warn('artifact not readable from this worker', { error: err.message });
    return null;
  }
}

/** `artifacts` reads the report (and diagnosis) from wherever the diagnosing worker published them. */
export async function notifyTeam(reportsDir: string, input: NotifyInput, artifacts: Pick<ArtifactStore, 'read'>): Promise<void> {
  const ctx = Context.current();
  const target = notifyTarget(input.handoff, process.env);
  // The command is who failed or gave up: a person hears of it through the webhook.
  if (input.kind === 'escalation' && target.webhookUrl) target.command = null;
  const report = input.reportPath
    ? ((await readArtifact(input.reportPath, artifacts)) ?? `The full report is at ${input.reportPath} (not readable from the worker that sent this).`)
    : '';
  const diagnosis = input.document?.links.diagnosis ? await readArtifact(input.document.links.diagnosis, artifacts) : null;
  const handoff = input.document
    ? writeHandoffFile(input.document, cycleDir(reportsDir, input.workflowId, input.cycle), target.webhookUrl ? [target.webhookUrl] : [], diagnosis)
    : null;
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
      ...(handoff && { handoff: handoff.document, webhookHandoff: forWebhook(handoff.document), handoffPath: handoff.path, kind: input.kind ?? null }),
    },
    {
      signal: ctx.cancellationSignal,
      // handoff.timeout bounds the fix team's hand-off (its activity is bounded to match); the rest keep the default.
      timeoutMs: input.document && input.handoff.timeout ? durationMs(input.handoff.timeout) : undefined,
      onTick: () => ctx.heartbeat(),
    },
  );
  ctx.log.info('notified', { audience: input.audience, cycle: input.cycle });
}
