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

/** verify-then-promote: a candidate is deployed with no traffic, under a tag with its own URL. */
export interface CandidateRequest extends DeployRequest {
  tag: string;
}

export interface CandidateResult extends DeployResult {
  /** The candidate revision (also `revision`); it takes no traffic. */
  revision: string;
  tag: string;
  /** The tag's own URL, e.g. https://TAG---SERVICE-HASH-REGION.a.run.app. */
  url: string;
}

export interface PromoteResult {
  /** The revision now taking all traffic. */
  revision: string;
  /** The revision that served before. */
  from: string | null;
  /** True when a retried promotion found it done. */
  alreadyPromoted: boolean;
  durationMs: number;
}

export interface DiscardResult {
  /** False when a retried discard found the tag gone already. */
  removed: boolean;
}

export interface Deployer {
  deploy(req: DeployRequest): Promise<DeployResult>;
  /** Move all traffic back to `toRevision`. Deployers that cannot roll back leave this out. */
  rollback?(toRevision: string, signal: AbortSignal): Promise<RollbackResult>;
  /** Deployers that can hold a revision back from traffic (verify-then-promote) have these three. */
  deployCandidate?(req: CandidateRequest): Promise<CandidateResult>;
  /** All traffic to the candidate `revision`, its `tag` removed. */
  promote?(revision: string, tag: string, signal: AbortSignal): Promise<PromoteResult>;
  /** The candidate's `tag` removed; traffic untouched. */
  discard?(tag: string, signal: AbortSignal): Promise<DiscardResult>;
}
