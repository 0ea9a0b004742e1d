/**
 * Who may run what on this worker. Whoever can start a workflow on the task queue writes the loop's
 * input, and the input's commands run on the worker. A command policy (`tdl worker --commands FILE`,
 * or TDL_COMMANDS_FILE) names the suites, deploy and hand-off commands the worker runs; a loop picks
 * them with `use`, and inline commands run only if the policy allows them. Without a policy, inline
 * commands from any input run, as they always did.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, firstProblem } from './config';
import { commandName, describe, section } from './config/schema';
import type { DeployChoice, DeployConfig, HandoffChoice, HandoffConfig, SuiteChoice, SuiteConfig } from './config/types';
import { FailureType, LoopError } from './errors';

const command = z.string().trim().min(1, { error: 'must be a non-empty command' });
const names = <T extends z.ZodType>(entry: T) =>
  z
    .record(commandName(), entry, {
      error: (iss) => (iss.code === 'invalid_key' ? `is not a usable name (letters, digits, . _ -)` : `must be an object of named commands, got ${describe(iss.input)}`),
    })
    .default({});

export const commandPolicySchema = section({
  suites: names(
    section({
      command: command,
      cwd: z.string().default('.'),
      junitPath: z.string().nullable().default(null),
      rerunFailed: command.nullable().default(null),
    }),
  ),
  deploys: names(section({ command })),
  handoffs: names(section({ command })),
  /** Whether inline commands from loop inputs run too. */
  allowInline: z.boolean({ error: (iss) => `must be true or false, got ${describe(iss.input)}` }).default(false),
});

export type CommandPolicy = z.output<typeof commandPolicySchema>;

/** Reads and validates a policy file; a bad one is a ConfigError naming the file and the field. */
export function loadCommandPolicy(path: string): CommandPolicy {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(path, `cannot read the command policy (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const result = commandPolicySchema.safeParse(raw);
  if (!result.success) {
    const problem = firstProblem(result.error);
    const field = problem.field === 'input' ? path : `${path}: ${problem.field}`;
    throw new ConfigError(field, problem.message.slice(problem.field.length + 2));
  }
  return result.data;
}

/** One line for the worker's start-up log. */
export function describePolicy(policy: CommandPolicy | null, source: string | null): string {
  if (!policy) return 'no command policy (--commands FILE or TDL_COMMANDS_FILE): inline commands from any loop input run on this worker';
  const list = (t: Record<string, unknown>) => Object.keys(t).join(', ') || 'none';
  return (
    `command policy ${source}: suites ${list(policy.suites)}; deploys ${list(policy.deploys)}; handoffs ${list(policy.handoffs)}; ` +
    `inline commands ${policy.allowInline ? 'allowed' : 'refused'}`
  );
}

type Where = 'suite' | 'deploy' | 'handoff';
const TABLE = { suite: 'suites', deploy: 'deploys', handoff: 'handoffs' } as const;

/**
 * The policy's entry for `use`, or null for an inline command (`inline` may be null: nothing to run).
 * Throws CommandNotAllowed naming the field and the names the worker has.
 */
function pick(policy: CommandPolicy | null, where: Where, inline: string | null, use: string | null): CommandPolicy['suites'][string] | { command: string } | null {
  const table: Record<string, { command: string }> = policy?.[TABLE[where]] ?? {};
  const known = Object.keys(table).slice(0, 20).join(', ') || 'none';
  const refuse = (field: string, why: string) => new LoopError(FailureType.CommandNotAllowed, `${where}.${field}: ${why}`);
  if (use !== null) {
    if (!policy) throw refuse('use', `names "${use}", but this worker has no command policy (start it with --commands FILE); give ${where}.command instead`);
    const entry = table[use];
    if (!entry) throw refuse('use', `this worker has no ${where} "${use}" (known: ${known})`);
    return entry;
  }
  if (inline !== null && policy && !policy.allowInline) {
    throw refuse('command', `this worker runs only the commands its policy names, not inline ones: give ${where}.use (known: ${known})`);
  }
  return null;
}

export interface CommandChoices {
  suite?: SuiteChoice;
  deploy?: DeployChoice;
  handoff?: HandoffChoice;
}

type Resolved<C extends CommandChoices> = {
  [K in keyof C]: K extends 'suite' ? SuiteConfig : K extends 'deploy' ? DeployConfig : HandoffConfig;
};

/**
 * What runs for the loop's choices on this worker: named commands looked up, inline ones checked
 * against the policy. Throws LoopError CommandNotAllowed for anything the worker refuses.
 */
export function resolveCommands<C extends CommandChoices>(policy: CommandPolicy | null, choices: C): Resolved<C> {
  const out: Record<string, unknown> = {};
  if (choices.suite) {
    const { use, command, ...suite } = choices.suite;
    const entry = pick(policy, 'suite', command, use);
    // The schema has made sure an inline suite has its command and a named one gives no cwd of its own.
    out.suite = (entry ? { ...suite, ...entry } : { ...suite, command: command! }) satisfies SuiteConfig;
  }
  if (choices.deploy) {
    const d = choices.deploy;
    if (d.kind === 'command') {
      const { use, command, ...rest } = d;
      out.deploy = { ...rest, command: pick(policy, 'deploy', command, use)?.command ?? command! } satisfies DeployConfig;
    } else out.deploy = d;
  }
  if (choices.handoff) {
    const { use, command, ...handoff } = choices.handoff;
    out.handoff = { ...handoff, command: pick(policy, 'handoff', command, use)?.command ?? command } satisfies HandoffConfig;
  }
  return out as Resolved<C>;
}
