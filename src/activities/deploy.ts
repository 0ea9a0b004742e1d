/** The `deploy` and `rollback` activities: a deployer behind heartbeats, cancellation and typed failures. */
import { Context } from '@temporalio/activity';
import type { DeployConfig } from '../config/types';
import { cloudRunDeployer } from '../deploy/cloud-run';
import { commandDeployer } from '../deploy/command';
import type { Deployer, DeployResult, RollbackResult } from '../deploy/types';
import { FailureType, LoopError } from '../errors';
import { cycleDir } from './paths';

export interface DeployInput {
  deploy: DeployConfig;
  commit: string;
  cycle: number;
}

export interface RollbackInput {
  deploy: DeployConfig;
  toRevision: string;
}

function deployerFor(config: DeployConfig): Deployer {
  switch (config.kind) {
    case 'command':
      return commandDeployer(config);
    case 'cloud-run':
      return cloudRunDeployer(config);
    case 'none':
      throw new LoopError(FailureType.BadInput, 'deploy.kind is "none": there is nothing to deploy with');
  }
}

export async function deployIn(reportsDir: string, input: DeployInput): Promise<DeployResult> {
  const ctx = Context.current();
  ctx.log.info('deploy started', { cycle: input.cycle, commit: input.commit, kind: input.deploy.kind });
  const result = await deployerFor(input.deploy).deploy({
    commit: input.commit,
    outputDir: cycleDir(reportsDir, ctx.info.workflowExecution!.workflowId, input.cycle),
    signal: ctx.cancellationSignal,
    progress: (note) => ctx.heartbeat(note),
  });
  ctx.log.info('deploy finished', { commit: input.commit, revision: result.revision, alreadyServing: result.alreadyServing });
  return result;
}

export async function rollbackTo(input: RollbackInput): Promise<RollbackResult> {
  const ctx = Context.current();
  const deployer = deployerFor(input.deploy);
  if (!deployer.rollback) {
    throw new LoopError(FailureType.BadInput, `deploy.kind "${input.deploy.kind}" cannot roll back`);
  }
  const result = await deployer.rollback(input.toRevision, ctx.cancellationSignal);
  ctx.log.info('rolled back', { revision: result.revision, from: result.from });
  return result;
}
