/** The diagnosis engine's data: plain JSON, no Temporal. The names are public: users depend on them. */

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
  /** Every failing test's id (classname::name); reports and workflow history keep a few of them. */
  tests: string[];
  /** What probably happened and what to do, in the user's words. */
  hypothesis: string;
  /** The lines (redacted) that decided the category. */
  evidence: string[];
  /** `messages` when the failure text decided the category, `probes` when live probes did. */
  decidedBy: 'messages' | 'probes';
  /**
   * When several distinct errors were thrown at one place (one call site rejected five ways), each
   * masked message and its count, largest first; empty when the root cause has one message.
   */
  variants: { message: string; count: number }[];
}

export interface Diagnosis {
  tests: TestCounts;
  verdict: Verdict;
  clusters: Cluster[];
  /** Problems reading the input (truncated file at line:col, ...); never a stack trace. */
  warnings: string[];
  /** Sum of testcase times, as the runner reported them. */
  durationMs: number;
  /** Tests that failed and then passed (reruns in the report), at most a bounded number. */
  flakyTests: string[];
  /** The slowest tests with their times: evidence that the suite really ran. */
  slowestTests: { id: string; timeMs: number }[];
}

/** How a token is shown anywhere outside the process that holds it. */
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

/** What the JWT probe learned about the suite's token; never the token itself. */
export interface JwtProbeResult {
  /** The environment variable that holds the token. */
  tokenEnv: string;
  present: boolean;
  fingerprint: TokenFingerprint | null;
  /** Three base64url segments with a JSON header and claims. */
  wellFormed: boolean;
  alg: string | null;
  kid: string | null;
  issuer: string | null;
  audience: string[];
  /** ISO times of the exp / nbf / iat claims. */
  expiresAt: string | null;
  notBefore: string | null;
  issuedAt: string | null;
  /** `verified`/`invalid` against the JWKS; `not-checked` without a jwksUrl. */
  signature: 'verified' | 'invalid' | 'not-checked';
  /** Everything wrong with the token, in words ("expired 2 h ago", "issuer is x, expected y"). */
  problems: string[];
  /** No problems found (the signature may be unchecked). */
  valid: boolean;
}

/** One WebSocket handshake attempt of the probe. */
export interface WebSocketAttempt {
  /** What was varied, e.g. "subprotocols jwt-auth, Authorization: Bearer <token>". */
  label: string;
  subprotocols: string[];
  /** How the token was sent: `Bearer <token>`, the bare token, or not at all. */
  authHeader: 'bearer' | 'raw' | 'none';
  /** The server kept the connection open and sent no error. */
  accepted: boolean;
  /** HTTP status of a rejected upgrade (101 when it was accepted). */
  status: number | null;
  /** The negotiated subprotocol, `''` for none. */
  protocol: string | null;
  closeCode: number | null;
  closeReason: string | null;
  /** First message the server sent, redacted and shortened. */
  firstMessage: string | null;
  error: string | null;
  ms: number;
}

export interface WebSocketProbeResult {
  url: string;
  attempts: WebSocketAttempt[];
}

export interface HttpProbeResult {
  url: string;
  status: number | null;
  healthy: boolean;
  /** First characters of the body, redacted. */
  body: string;
  error: string | null;
  ms: number;
}

/** Live evidence from the probes; small JSON, it goes into workflow history. */
export interface ProbeEvidence {
  at: string;
  jwt: JwtProbeResult | null;
  websocket: WebSocketProbeResult | null;
  http: HttpProbeResult | null;
}
