/** The `serviceLogs` activity: the revision's recent error logs after a failed deploy or verification. */
import { Context } from '@temporalio/activity';
import type { DeployConfig, VerifyConfig } from '../config/types';
import { readServiceLogs, type ServiceLogs } from '../deploy/logs';
import { cycleDir } from './paths';

export interface ServiceLogsInput {
  deploy: DeployConfig;
  verify: VerifyConfig;
  commit: string;
  revision: string | null;
  since: string;
  cycle: number;
}

export async function serviceLogsIn(reportsDir: string, input: ServiceLogsInput): Promise<ServiceLogs> {
  const ctx = Context.current();
  const logs = await readServiceLogs(input.deploy, input.verify, {
    commit: input.commit,
    revision: input.revision,
    since: input.since,
    outputDir: cycleDir(reportsDir, ctx.info.workflowExecution!.workflowId, input.cycle),
    signal: ctx.cancellationSignal,
  });
  ctx.log.info('service logs read', { source: logs.source, read: logs.read, distinct: logs.top.length });
  return logs;
}
