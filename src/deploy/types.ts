/**
 * One interface for every deployer (none, command, cloud-run). A deployer is plain code, no Temporal:
 * the deploy activities wrap it with heartbeats, cancellation and typed failures.
 * Deployers throw LoopError (src/errors.ts): DeployRejected (permanent), DeployUnavailable
 * (transient), DeployFailed (the code's own failure).
 */

export interface DeployRequest {
  /** The commit being deployed (already validated non-empty). */
  commit: string;
  /** Where the deployer may write bulky output (logs); a folder that exists. */
  outputDir: string;
  /** Aborted when the activity is cancelled. */
  signal: AbortSignal;
  /** Called periodically while the deploy is in progress (the activity heartbeats). */
  progress: (note: string) => void;
}

export interface DeployResult {
  kind: 'none' | 'command' | 'cloud-run';
  commit: string;
  /** The revision now serving (cloud-run), if any. */
  revision: string | null;
  /** The revision that served before this deploy: the rollback target. */
  previousRevision: string | null;
  /** True when the commit was already serving and nothing was changed (idempotent retry). */
  alreadyServing: boolean;
  durationMs: number;
  /** Path of the deploy's full log, if one was written. */
  logPath: string | null;
}

export interface RollbackResult {
  /** The revision traffic was moved back to. */
  revision: string;
  /** The revision that had been serving (the bad one). */
  from: string | null;
  durationMs: number;
}

export interface Deployer {
  deploy(req: DeployRequest): Promise<DeployResult>;
  /** Move all traffic back to `toRevision`. Deployers that cannot roll back leave this out. */
  rollback?(toRevision: string, signal: AbortSignal): Promise<RollbackResult>;
}
