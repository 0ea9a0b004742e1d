/**
 * The loop's input: parsed against the one schema (./schema.ts). Pure code, imported by the workflow
 * (bad input from the Web UI fails the loop at once) and by the CLI (bad input never reaches Temporal).
 */
import { z } from 'zod';
import { loopInputSchema, type DurationRule } from './schema';
import type { HandoffChoice, LoopConfig } from './types';

export * from './types';
export { durationMs, type DurationRule } from './schema';

/** Bad loop input: `field` is the dotted path of the offending field. */
export class ConfigError extends Error {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'ConfigError';
  }
}

const schemas = new Map<DurationRule, ReturnType<typeof loopInputSchema>>();
const schemaFor = (rule: DurationRule) => {
  let s = schemas.get(rule);
  if (!s) schemas.set(rule, (s = loopInputSchema(rule)));
  return s;
};

/** The first problem, as a ConfigError naming the field (an unknown key names the key itself). */
export function firstProblem(error: z.ZodError): ConfigError {
  const issue = error.issues[0];
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
  return new ConfigError(path.length === 0 ? 'input' : path.join('.'), issue.message);
}

/**
 * Applies defaults to the loop's input and validates it. Throws ConfigError naming the first bad
 * field. Only `suite.command` (or `suite.use`) is required. `durations: 'legacy'` is for loops
 * started before durations had bounds (their histories must replay as they ran).
 */
export function parseLoopConfig(input: unknown, opts: { durations?: DurationRule } = {}): LoopConfig {
  const result = schemaFor(opts.durations ?? 'bounded').safeParse(input);
  if (!result.success) throw firstProblem(result.error);
  return result.data;
}

/**
 * The loop input as the loop started with it. The bounded rule accepts a subset of what the legacy
 * rule accepts, so only an input the legacy rule alone accepts has to ask whether the loop started
 * under the bounds (`startedBounded`, the workflow's patched() call, which records a marker in
 * history when asked): ordinary loops never ask and carry no marker.
 */
export function parseLoopConfigAsStarted(input: unknown, startedBounded: () => boolean): LoopConfig {
  try {
    return parseLoopConfig(input);
  } catch (bounded) {
    let legacy: LoopConfig;
    try {
      legacy = parseLoopConfig(input, { durations: 'legacy' });
    } catch {
      throw bounded;
    }
    if (startedBounded()) throw bounded;
    return legacy;
  }
}

/** The loop input's JSON Schema (draft 2020-12), with descriptions and defaults: `tdl schema`. */
export function loopInputJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(schemaFor('bounded'), { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
}

/** Whether the loop tells anyone at all (a webhook, by URL or variable, or a command, inline or named). */
export function hasHandoff(h: HandoffChoice): boolean {
  return Boolean(h.webhookUrl || h.webhookUrlEnv || h.command || h.use);
}
