/** The `notify` activity: tells the fix team or the infrastructure team, with the cycle's report. */
import { Context } from '@temporalio/activity';
import { readFileSync } from 'node:fs';
import type { HandoffConfig } from '../config/types';
import { notify } from '../notify';

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

export async function notifyTeam(input: NotifyInput): Promise<void> {
  const ctx = Context.current();
  const report = input.reportPath ? readFileSync(input.reportPath, 'utf8') : '';
  await notify(
    { webhookUrl: input.handoff.webhookUrl, command: input.handoff.command },
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
