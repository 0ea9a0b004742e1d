/**
 * The loop's input after defaults are applied (see src/config/index.ts for validation).
 * Durations are kept as the user's strings ("90s", "5m") and converted where used.
 */

export interface SuiteConfig {
  /** Run under /bin/sh -c in `cwd`, with JUNIT_XML set. */
  command: string;
  cwd: string;
  env: Record<string, string>;
  timeout: string;
  /** Where the runner writes JUnit XML when it ignores $JUNIT_XML (relative to cwd). Globs not supported. */
  junitPath: string | null;
  /** Command template that reruns only the failed tests once; receives them in $FAILED_TESTS. */
  rerunFailed: string | null;
}

export type DeployConfig =
  | { kind: 'none' }
  | { kind: 'command'; command: string; timeout: string }
  | {
      kind: 'cloud-run';
      project: string;
      region: string;
      service: string;
      /** Container image, `{commit}` replaced by the commit being deployed. */
      image: string;
      /** host:port of a plaintext Cloud Run Admin API stand-in; for local testing only. */
      endpoint: string | null;
      /** Bound on waiting for the long-running operation. */
      timeout: string;
    };

export interface VerifyConfig {
  url: string | null;
  expectStatus: number;
  timeout: string;
  interval: string;
}

export interface WebSocketProbeConfig {
  url: string;
  subprotocols: string[];
  /** Name of the environment variable (on the worker) that holds the token. Never the token itself. */
  tokenEnv: string | null;
}

export interface JwtProbeConfig {
  tokenEnv: string;
  jwksUrl: string | null;
  issuer: string | null;
  audience: string | null;
}

export interface ProbesConfig {
  websocket: WebSocketProbeConfig | null;
  jwt: JwtProbeConfig | null;
  /** An HTTP URL probed for health during diagnosis (defaults to verify.url). */
  http: { url: string } | null;
}

export interface HandoffConfig {
  webhookUrl: string | null;
  /** Name of the worker's environment variable holding the webhook URL, so the URL stays out of history; wins over webhookUrl. */
  webhookUrlEnv: string | null;
  command: string | null;
  remindEvery: string;
}

export interface InfraConfig {
  recheckEvery: string;
  giveUpAfter: string;
}

export interface LoopConfig {
  name: string;
  suite: SuiteConfig;
  deploy: DeployConfig;
  verify: VerifyConfig;
  probes: ProbesConfig;
  handoff: HandoffConfig;
  infra: InfraConfig;
  maxCycles: number;
}
