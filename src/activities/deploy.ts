/**
 * The `deploy` and `rollback` activities, and verify-then-promote's `deployCandidate`, `promote` and
 * `discard`: a deployer behind heartbeats, cancellation and typed failures.
 */
import { Context } from '@temporalio/activity';
import type { DeployConfig } from '../config/types';
import type * as CloudRun from '../deploy/cloud-run';
import { commandDeployer } from '../deploy/command';
import type { CandidateResult, Deployer, DeployResult, DiscardResult, PromoteResult, RollbackResult } from '../deploy/types';
import { FailureType, LoopError } from '../errors';
import { cycleDir } from './paths';

export interface DeployInput {
  deploy: DeployConfig;
  commit: string;
  cycle: number;
}

export interface CandidateInput extends DeployInput {
  tag: string;
}

/** Promote: `revision` takes all traffic and `tag` goes; discard: only `tag` goes. */
export interface CandidateStepInput {
  deploy: DeployConfig;
  revision: string;
  tag: string;
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
      // Loaded on first use: a worker whose loops never deploy to Cloud Run never pays for its client.
      return (require('../deploy/cloud-run') as typeof CloudRun).cloudRunDeployer(config);
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

/** The deployer's verify-then-promote steps; the config refuses the strategy for deployers without them. */
function promoterFor(config: DeployConfig): Required<Pick<Deployer, 'deployCandidate' | 'promote' | 'discard'>> {
  const d = deployerFor(config);
  if (!d.deployCandidate || !d.promote || !d.discard) {
    throw new LoopError(FailureType.BadInput, `deploy.strategy: "verify-then-promote" needs deploy.kind "cloud-run", not "${config.kind}"`);
  }
  return { deployCandidate: d.deployCandidate, promote: d.promote, discard: d.discard };
}

export async function deployCandidateIn(reportsDir: string, input: CandidateInput): Promise<CandidateResult> {
  const ctx = Context.current();
  ctx.log.info('candidate deploy started', { cycle: input.cycle, commit: input.commit, tag: input.tag });
  const result = await promoterFor(input.deploy).deployCandidate({
    commit: input.commit,
    tag: input.tag,
    outputDir: cycleDir(reportsDir, ctx.info.workflowExecution!.workflowId, input.cycle),
    signal: ctx.cancellationSignal,
    progress: (note) => ctx.heartbeat(note),
  });
  ctx.log.info('candidate deployed', { commit: input.commit, revision: result.revision, tag: result.tag, alreadyDeployed: result.alreadyServing });
  return result;
}

export async function promoteCandidate(input: CandidateStepInput): Promise<PromoteResult> {
  const ctx = Context.current();
  const result = await promoterFor(input.deploy).promote(input.revision, input.tag, ctx.cancellationSignal);
  ctx.log.info('candidate promoted', { revision: result.revision, from: result.from, alreadyPromoted: result.alreadyPromoted });
  return result;
}

export async function discardCandidate(input: Omit<CandidateStepInput, 'revision'>): Promise<DiscardResult> {
  const ctx = Context.current();
  const result = await promoterFor(input.deploy).discard(input.tag, ctx.cancellationSignal);
  ctx.log.info('candidate discarded', { tag: input.tag, removed: result.removed });
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
