/** The `command` deployer: the team's own deploy script, with `COMMIT` set. */
import { join } from 'node:path';
import type { DeployConfig } from '../config/types';
import { durationMs } from '../config';
import { FailureType, LoopError } from '../errors';
import { logTail, runCommand } from '../process';
import type { Deployer, DeployRequest, DeployResult } from './types';

export function commandDeployer(config: Extract<DeployConfig, { kind: 'command' }>): Deployer {
  return {
    async deploy(req: DeployRequest): Promise<DeployResult> {
      const logPath = join(req.outputDir, 'deploy.log');
      const result = await runCommand({
        command: config.command,
        cwd: process.cwd(),
        env: { ...process.env, COMMIT: req.commit },
        timeoutMs: durationMs(config.timeout),
        outputPath: logPath,
        signal: req.signal,
        onTick: () => req.progress('deploy command running'),
      });
      if (result.cancelled) throw new Error('deploy cancelled');
      if (result.exitCode !== 0) {
        const tail = logTail(logPath, 5);
        const why = result.timedOut ? `stopped after deploy.timeout (${config.timeout})` : `exited with code ${result.exitCode}`;
        // The team's script said no: retrying the same commit will not change its mind.
        throw new LoopError(FailureType.DeployFailed, `deploy.command ${why} for commit ${req.commit}: ${tail}`, { logPath });
      }
      return {
        kind: 'command',
        commit: req.commit,
        revision: null,
        previousRevision: null,
        alreadyServing: false,
        durationMs: result.durationMs,
        logPath,
      };
    },
  };
}
