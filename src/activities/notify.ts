/** The `notify` activity: tells the fix team or the infrastructure team, with the cycle's report. */
import { Context } from '@temporalio/activity';
import { readFileSync } from 'node:fs';
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

export async function notifyTeam(input: NotifyInput): Promise<void> {
  const ctx = Context.current();
  const target = notifyTarget(input.handoff, process.env);
  const report = input.reportPath ? readFileSync(input.reportPath, 'utf8') : '';
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
      reportPath: input.reportPath,
    },
    { signal: ctx.cancellationSignal },
  );
  ctx.log.info('notified', { audience: input.audience, cycle: input.cycle });
}
