/** The diagnosis engine's data: plain JSON, no Temporal. Names follow ../shared/CONTRACT.md. */

export type Category =
  | 'auth'
  | 'websocket-handshake'
  | 'service-unavailable'
  | 'database'
  | 'timeout'
  | 'assertion'
  | 'test-setup'
  | 'unknown';

/** Categories that are infrastructure problems: never handed to the fix team as code defects. */
export const INFRASTRUCTURE_CATEGORIES: readonly Category[] = ['service-unavailable', 'database'];

export type Verdict = 'passed' | 'code' | 'infrastructure' | 'flaky' | 'mixed';

export interface TestCounts {
  total: number;
  passed: number;
  failed: number;
  errored: number;
  skipped: number;
  flaky: number;
}

/** One root cause: failures that share a normalised signature. Every failure is in exactly one. */
export interface Cluster {
  category: Category;
  count: number;
  /** Normalised, stable signature (exception type + masked message + top in-app frame). */
  signature: string;
  /** A representative message, redacted. */
  message: string;
  /** Test ids (classname::name), at most a bounded number kept; `count` is the full count. */
  tests: string[];
  /** What probably happened and what to do, in the user's words. */
  hypothesis: string;
  /** The lines (redacted) that decided the category. */
  evidence: string[];
}

export interface Diagnosis {
  tests: TestCounts;
  verdict: Verdict;
  clusters: Cluster[];
  /** Problems reading the input (truncated file at line:col, ...); never a stack trace. */
  warnings: string[];
  /** Sum of testcase times, as the runner reported them. */
  durationMs: number;
}

/** How a token is shown anywhere outside the process that holds it (CONTRACT.md). */
export interface TokenFingerprint {
  length: number;
  dots: number;
  /** First 12 characters; empty for a value of 20 characters or fewer. */
  prefix: string;
  /** Last 8 characters; empty for a value of 20 characters or fewer. */
  suffix: string;
  /** Whether the value carried a `Bearer ` prefix. */
  bearer: boolean;
}
