/**
 * The loop's input after defaults are applied, inferred from the one schema (./schema.ts).
 * Durations are kept as the user's strings ("90s", "5m") and converted where used (durationMs).
 * Commands come inline or by name (`use`, resolved on the worker by src/policy.ts): the *Choice
 * types are what the input says, the *Config types what actually runs.
 */
import type { z } from 'zod';
import type { loopInputSchema } from './schema';

export type LoopConfig = z.output<ReturnType<typeof loopInputSchema>>;

/** The suite as the input gives it: `command` inline, or `use` naming one of the worker's suites. */
export type SuiteChoice = LoopConfig['suite'];
/** The suite that runs: under /bin/sh -c in `cwd`, with JUNIT_XML set. */
export type SuiteConfig = Omit<SuiteChoice, 'command' | 'use'> & { command: string };

/** The deploy as the input gives it. */
export type DeployChoice = LoopConfig['deploy'];
/** The deploy that runs (a `command` deploy has its command). */
export type DeployConfig =
  | Exclude<DeployChoice, { kind: 'command' }>
  | (Omit<Extract<DeployChoice, { kind: 'command' }>, 'command' | 'use'> & { command: string });

export type VerifyConfig = LoopConfig['verify'];
export type ProbesConfig = LoopConfig['probes'];
export type WebSocketProbeConfig = NonNullable<ProbesConfig['websocket']>;
export type JwtProbeConfig = NonNullable<ProbesConfig['jwt']>;

/** The hand-off as the input gives it. */
export type HandoffChoice = LoopConfig['handoff'];
/** The hand-off that runs (its command, if any, resolved). */
export type HandoffConfig = Omit<HandoffChoice, 'use'>;

export type InfraConfig = LoopConfig['infra'];
