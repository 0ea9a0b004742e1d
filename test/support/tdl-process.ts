/** `tdl` as a real process against a test server: what a script or an operator runs. */
import { execFile } from 'node:child_process';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { TDL } from './temporal';

export interface TdlRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runTdl(env: TestWorkflowEnvironment, args: string[], extraEnv: Record<string, string> = {}): Promise<TdlRun> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [TDL, ...args],
      { env: { ...process.env, TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: 'default', TDL_LOG_LEVEL: 'WARN', ...extraEnv } },
      (err, stdout, stderr) => done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
