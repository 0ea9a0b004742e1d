/**
 * `tdl`: the command line of test-deploy-loop. Each command is declared once below (usage, options,
 * examples, handler); commander builds `tdl --help`, `tdl <command> --help` and the parsing from it.
 * Exit codes: 0 success, 1 the operation failed or was refused, 2 bad usage or bad input.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { Client } from '@temporalio/client';
import { connectClient } from '../connection';
import { loopInputJsonSchema } from '../config';
import { PHASES } from '../search-attributes';
import * as messages from '../workflows/messages';
import { diagnoseCommand } from './diagnose';
import { showCycleReport } from './report';
import type { WhileRunning } from './dev';
import { handoffJsonSchema } from '../handoff/schema';
import { cannotReach, ExitError, processIo, UsageError, type Io } from './io';
import { cliConnectionSettings, opsCommands } from './ops';
import { cannotFix, describeClientError, listLoops, readLoopInput, showHandoff, showReport, showStatus, signalLoop, startLoop, submitFix } from './loops';

/** Option values as commander hands them to a handler. */
type Values = Record<string, string | string[] | boolean | number | undefined>;

interface Run {
  io: Io;
  /** The loop's workflow id, for commands that take one. */
  id: string;
  values: Values;
  hooks: Hooks;
  /** Positional arguments of commands that declare `arguments`. */
  args: (string | undefined)[];
  withClient: typeof withClient;
}

export interface Declaration {
  name: string;
  /** Arguments and options as `tdl <name> --help` shows them. */
  usage: string;
  summary: string;
  /** More than the summary, for `tdl <name> --help`. */
  details?: string;
  /** Takes one loop id (`optional`: only some of its uses do). */
  takesId?: boolean | 'optional';
  /** Other positional arguments, as commander declares them (`[action]`). */
  arguments?: string[];
  options: Option[];
  examples: string[];
  handler(run: Run): Promise<number>;
}

/** What the demo's own entry point plugs into `tdl dev`; the production CLI knows nothing of the demo. */
export interface Hooks {
  whileRunning?: WhileRunning;
}

function portNumber(value: string): number {
  const p = Number(value);
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw new InvalidArgumentError('takes a port number from 1 to 65535');
  return p;
}

const atLeast = (min: number) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`takes a whole number of at least ${min}`);
  return n;
};
const atLeastOne = atLeast(1);

const taskQueue = () =>
  new Option('--task-queue <name>', 'the task queue the loops run on').env('TDL_TASK_QUEUE').default(messages.DEFAULT_TASK_QUEUE);
const json = () => new Option('--json', 'print JSON instead of text');
const workerOptions = () => [
  taskQueue(),
  new Option('--reports-dir <dir>', 'where the loops write their reports (default ./reports, or TDL_REPORTS_DIR)'),
  new Option('--commands <file>', 'the command policy: the suites, deploys and hand-offs this worker runs (or TDL_COMMANDS_FILE)'),
  new Option('--metrics-port <port>', 'serve Prometheus metrics on this port (/metrics)').env('TDL_METRICS_PORT').argParser(portNumber),
  new Option('--metrics-host <host>', 'the address the metrics port listens on').env('TDL_METRICS_HOST').default('127.0.0.1'),
  new Option('--max-cached-loops <n>', 'loops kept in memory between steps; the others are replayed from history when they move (default: by heap size)')
    .env('TDL_MAX_CACHED_LOOPS')
    .argParser(atLeast(2)),
  new Option('--max-concurrent-workflow-tasks <n>', 'loop decisions handled at once; fewer lowers peak memory when many loops move together (default: 40)')
    .env('TDL_MAX_CONCURRENT_WORKFLOW_TASKS')
    .argParser(atLeast(2)),
];

const str = (v: Values, name: string) => v[name] as string | undefined;

/** `FP,FP`: checked by the loop's own rule before anything is sent. */
function fingerprintList(value: string): string[] {
  const list = value.split(',').map((f) => f.trim()).filter(Boolean);
  const problem = messages.fingerprintsProblem('fingerprints', list);
  if (problem) throw new InvalidArgumentError(problem.replace(/^fingerprints: /, ''));
  return list;
}

/** Connects for one command and closes again; a failure to connect reads the same for every command. */
async function withClient(fn: (client: Client) => Promise<number>): Promise<number> {
  const settings = cliConnectionSettings();
  const client = await connectClient(settings).catch((err: unknown) => {
    throw cannotReach(settings.address, err);
  });
  try {
    return await fn(client);
  } finally {
    await client.connection.close();
  }
}

async function runWorker(run: Run, embedded: { port: number; uiPort: number } | null): Promise<number> {
  // The worker (and its native runtime) loads only for the commands that run one.
  const { runWorkerCommand } = await import('./dev');
  const v = run.values;
  return runWorkerCommand(run.io, {
    taskQueue: str(v, 'taskQueue')!,
    reportsDir: str(v, 'reportsDir'),
    commandsFile: str(v, 'commands'),
    embedded,
    metrics: v.metricsPort === undefined ? undefined : { host: str(v, 'metricsHost')!, port: v.metricsPort as number },
    capacity: { maxCachedLoops: v.maxCachedLoops as number | undefined, maxConcurrentWorkflowTasks: v.maxConcurrentWorkflowTasks as number | undefined },
    whileRunning: run.hooks.whileRunning,
  });
}

const COMMANDS: Declaration[] = [
  {
    name: 'dev',
    usage: '[--port 7233] [--ui-port 8233] [--commands FILE] [--reports-dir DIR]',
    summary: 'a local Temporal dev server (state in .data/, Web UI) and a worker; Ctrl-C stops both',
    details: 'With TEMPORAL_ADDRESS or a temporal.toml profile set, only the worker runs, against that server.',
    options: [
      new Option('--port <port>', "the dev server's gRPC port").default(7233).argParser(portNumber),
      new Option('--ui-port <port>', "the Web UI's port").default(8233).argParser(portNumber),
      ...workerOptions(),
    ],
    examples: ['tdl dev', 'tdl dev --commands commands.json'],
    handler: (run) => runWorker(run, { port: run.values.port as number, uiPort: run.values.uiPort as number }),
  },
  {
    name: 'worker',
    usage: '[--commands FILE] [--reports-dir DIR] [--task-queue NAME]',
    summary: 'a worker for an existing Temporal service',
    details: 'The service is the one TEMPORAL_ADDRESS (or a temporal.toml profile) names.',
    options: workerOptions(),
    examples: ['tdl worker --commands commands.json --reports-dir /var/lib/tdl/reports'],
    handler: (run) => runWorker(run, null),
  },
  {
    name: 'start',
    usage: '--config FILE | --input JSON [--workflow-id ID] [--json]',
    summary: 'starts a loop and prints its workflow id',
    details: 'The input is checked before Temporal is contacted: bad input names the field (exit 2).',
    options: [
      new Option('--config <file>', 'the loop input, a JSON file'),
      new Option('--input <json>', 'the loop input, inline JSON'),
      new Option('--workflow-id <id>', "the loop's workflow id (default: its name and the time)"),
      taskQueue(),
      json(),
    ],
    examples: ['tdl start --config loop.json', `tdl start --input '{"suite":{"command":"npm run e2e"}}'`],
    async handler({ io, values: v }) {
      const input = readLoopInput({ config: str(v, 'config'), input: str(v, 'input') });
      return withClient((client) => startLoop(client, io, input, { workflowId: str(v, 'workflowId'), taskQueue: str(v, 'taskQueue')!, json: Boolean(v.json) }));
    },
  },
  {
    name: 'fix',
    usage: 'ID --commit SHA [--addresses FP,FP] [--pr URL] [--branch NAME] [--agent NAME] [--summary TEXT] [--author NAME] [--json]',
    summary: 'reports a committed fix (the submitFix update); exit 1 with the reason when the loop rejects it',
    details: 'The loop refuses a commit it has already deployed and fingerprints it has never diagnosed (see `tdl handoff`).',
    takesId: true,
    options: [
      new Option('--commit <sha>', 'the commit to deploy').makeOptionMandatory(),
      new Option('--summary <text>', 'what the fix does'),
      new Option('--author <name>', 'who fixed it'),
      new Option('--addresses <fingerprints>', 'the root causes it fixes, comma-separated fingerprints from `tdl handoff`').argParser(fingerprintList),
      new Option('--pr <url>', 'the pull request'),
      new Option('--branch <name>', 'the branch the commit is on'),
      new Option('--agent <name>', 'the coding agent that made it (absent: a person)'),
      json(),
    ],
    examples: [
      'tdl fix netra-staging-20261126T101500 --commit 176ad633b --summary "add jwt-auth subprotocol"',
      'tdl fix netra-staging-20261126T101500 --commit 176ad633b --addresses 3f1c9a0b7d2e4f65 --pr https://github.com/acme/app/pull/42 --agent claude-code',
    ],
    handler: ({ io, id, values: v }) =>
      withClient((client) =>
        submitFix(
          client,
          io,
          id,
          {
            commit: str(v, 'commit')!,
            summary: str(v, 'summary'),
            author: str(v, 'author'),
            addresses: v.addresses as string[] | undefined,
            prUrl: str(v, 'pr'),
            branch: str(v, 'branch'),
            agent: str(v, 'agent'),
          },
          Boolean(v.json),
        ),
      ),
  },
  {
    name: 'cannot-fix',
    usage: 'ID --reason TEXT [--fingerprints FP,FP] [--agent NAME] [--json]',
    summary: 'says the fix team cannot fix it (the cannotFix update): the loop asks a person and keeps waiting for a fix',
    takesId: true,
    options: [
      new Option('--reason <text>', 'why it cannot be fixed').makeOptionMandatory(),
      new Option('--fingerprints <fingerprints>', 'the root causes concerned, comma-separated (default: all)').argParser(fingerprintList),
      new Option('--agent <name>', 'the coding agent giving up'),
      json(),
    ],
    examples: ['tdl cannot-fix netra-staging-20261126T101500 --reason "the failure is in a vendored SDK"'],
    handler: ({ io, id, values: v }) =>
      withClient((client) =>
        cannotFix(client, io, id, { reason: str(v, 'reason')!, fingerprints: v.fingerprints as string[] | undefined, agent: str(v, 'agent') }, Boolean(v.json)),
      ),
  },
  {
    name: 'handoff',
    usage: 'ID [--json] | --schema',
    summary: "a loop's current hand-off document (the handoff query): root causes with fingerprints, the diff, how to reproduce, what was tried",
    details: 'The hand-off command gets the same document, completed with every kept test id, in $TDL_HANDOFF_FILE and on stdin.',
    takesId: 'optional',
    options: [json(), new Option('--schema', "the document's JSON Schema (draft 2020-12) instead")],
    examples: ['tdl handoff netra-staging-20261126T101500', 'tdl handoff netra-staging-20261126T101500 --json | jq .rootCauses', 'tdl handoff --schema > handoff.schema.json'],
    async handler({ io, id, values: v }) {
      if (v.schema) {
        if (id) throw new UsageError('--schema takes no workflow id');
        io.out(JSON.stringify(handoffJsonSchema(), null, 2));
        return 0;
      }
      if (!id) throw new UsageError('handoff takes one workflow id (or --schema)');
      return withClient((client) => showHandoff(client, io, id, Boolean(v.json)));
    },
  },
  {
    name: 'infra-restored',
    usage: 'ID [--note TEXT] [--json]',
    summary: 'tells a loop blocked on infrastructure that it is back: verify again now',
    takesId: true,
    options: [new Option('--note <text>', 'what was restored'), json()],
    examples: ['tdl infra-restored netra-staging-20261126T101500 --note "database failover done"'],
    handler: ({ io, id, values: v }) => withClient((client) => signalLoop(client, io, id, messages.infraRestored, { note: str(v, 'note') }, Boolean(v.json))),
  },
  {
    name: 'retest',
    usage: 'ID [--reason TEXT] [--json]',
    summary: 'runs the suite again now, without a deploy',
    takesId: true,
    options: [new Option('--reason <text>', 'why'), json()],
    examples: ['tdl retest netra-staging-20261126T101500 --reason "flaky runner replaced"'],
    handler: ({ io, id, values: v }) => withClient((client) => signalLoop(client, io, id, messages.retest, { reason: str(v, 'reason') }, Boolean(v.json))),
  },
  {
    name: 'status',
    usage: 'ID [--json] [--watch]',
    summary: "a loop's phase, cycle, last run and root causes",
    takesId: true,
    options: [json(), new Option('--watch', 'redraw until the loop ends')],
    examples: ['tdl status netra-staging-20261126T101500 --watch'],
    handler: ({ io, id, values: v }) => withClient((client) => showStatus(client, io, id, { json: Boolean(v.json), watch: Boolean(v.watch) })),
  },
  {
    name: 'report',
    usage: 'ID [--cycle N]',
    summary: "a loop's latest cycle report (Markdown); with --cycle, that cycle's full diagnosis report from wherever it was published",
    details: 'A gs:// report is read with Application Default Credentials, or from TDL_ARTIFACTS_ENDPOINT when set.',
    takesId: true,
    options: [new Option('--cycle <n>', "that cycle's full report (file://, gs:// or https)").argParser(atLeastOne)],
    examples: ['tdl report netra-staging-20261126T101500 > report.md', 'tdl report netra-staging-20261126T101500 --cycle 2'],
    handler: ({ io, id, values: v }) =>
      withClient((client) => (v.cycle === undefined ? showReport(client, io, id) : showCycleReport(client, io, id, v.cycle as number))),
  },
  {
    name: 'list',
    usage: '[--phase PHASE] [--json] [--limit N]',
    summary: 'loops, newest first, with phase and cycle',
    details: '--phase filters with the LoopPhase search attribute (registered by tdl dev, or tdl setup), as the Web UI can.',
    options: [
      json(),
      new Option('--limit <n>', 'at most this many loops').default(50).argParser(atLeastOne),
      new Option('--phase <phase>', 'only loops in this phase').choices(PHASES),
    ],
    examples: ['tdl list --limit 10', 'tdl list --phase awaiting-fix'],
    handler: ({ io, values: v }) => withClient((client) => listLoops(client, io, { json: Boolean(v.json), limit: v.limit as number, phase: str(v, 'phase') })),
  },
  {
    name: 'diagnose',
    usage: '--junit FILE... [--json]',
    summary: 'the diagnosis engine alone, offline: root causes and verdict of JUnit XML reports',
    details: 'Exit 0 whatever the tests did; 2 when a file cannot be read or is not JUnit XML.',
    options: [new Option('--junit <file...>', 'JUnit XML reports (several files: one run)'), json()],
    examples: ['tdl diagnose --junit reports/junit.xml', 'tdl diagnose --junit a.xml b.xml --json'],
    handler: ({ io, values: v }) => diagnoseCommand(io, (v.junit as string[] | undefined) ?? [], { json: Boolean(v.json) }),
  },
  {
    name: 'schema',
    usage: '',
    summary: "the loop input's JSON Schema (draft 2020-12), for editors and checks before a start",
    options: [],
    examples: ['tdl schema > loop.schema.json'],
    async handler({ io }) {
      io.out(JSON.stringify(loopInputJsonSchema(), null, 2));
      return 0;
    },
  },
  ...opsCommands(portNumber, json, taskQueue),
];

const CONNECTION_HELP = `
Connection (Temporal's own conventions): TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
TEMPORAL_TLS_*, TEMPORAL_PROFILE and temporal.toml profiles.
Exit codes: 0 success, 1 the operation failed or was refused, 2 bad usage or bad input.`;

/** The program from the declarations; `exitCode` receives the handler's result. */
function buildProgram(io: Io, hooks: Hooks, done: (code: number) => void): Command {
  const program = new Command('tdl')
    .description('a durable test -> diagnose -> fix -> deploy -> verify loop on Temporal')
    .usage('<command> [options]')
    .configureOutput({
      writeOut: (text) => io.out(text.replace(/\n$/, '')),
      writeErr: (text) => io.err(text.replace(/\n$/, '')),
      // Errors are written by main(), with the command's name and its usage.
      outputError: () => undefined,
    })
    .exitOverride()
    .addHelpText('after', CONNECTION_HELP);
  for (const d of COMMANDS) {
    const command = program.command(d.name).usage(d.usage).summary(d.summary).description(d.details ? `${d.summary}.\n${d.details}` : `${d.summary}.`);
    if (d.takesId) command.argument(d.takesId === 'optional' ? '[id]' : '<id>', "the loop's workflow id");
    for (const a of d.arguments ?? []) command.argument(a);
    for (const option of d.options) command.addOption(option);
    command.addHelpText('after', `\nExamples:\n${d.examples.map((e) => `  ${e}`).join('\n')}`);
    command.action(async (...args: unknown[]) => {
      const positional = args.slice(0, (d.takesId ? 1 : 0) + (d.arguments?.length ?? 0)) as (string | undefined)[];
      done(await d.handler({ io, id: d.takesId ? (positional[0] ?? '') : '', args: positional, values: command.opts(), hooks, withClient }));
    });
  }
  return program;
}

/** Commander's parse errors in this CLI's words. */
function usageProblem(err: CommanderError, command: string): string {
  switch (err.code) {
    case 'commander.unknownCommand':
      return `unknown command "${command}"`;
    case 'commander.missingArgument':
    case 'commander.excessArguments':
      return COMMANDS.find((d) => d.name === command)?.takesId ? `${command} takes one workflow id` : `${command} takes no positional arguments`;
    case 'commander.invalidArgument': {
      // "error: option '--port <port>' argument 'x' is invalid. takes a port number ..."
      const m = /option '(--[\w-]+)[^']*' argument '([^']*)' is invalid\. (.*)/.exec(err.message);
      if (m) return `${m[1]} ${m[3]} (got "${m[2]}")`;
      break;
    }
  }
  return err.message.replace(/^error: /, '').replace(/'(--?[\w-]+)[^']*'/g, '$1');
}

/** A usage error's second line: the command's usage, or where the commands are listed. */
function usageHint(command: string): string {
  const declared = COMMANDS.find((d) => d.name === command);
  return declared ? `usage: tdl ${declared.name} ${declared.usage}`.trimEnd() : 'Run `tdl --help` for the commands.';
}

export async function main(argv: string[], io: Io = processIo, hooks: Hooks = {}): Promise<number> {
  let exitCode = 0;
  const program = buildProgram(io, hooks, (code) => (exitCode = code));
  if (argv.length === 0) {
    io.err(program.helpInformation().trimEnd());
    return 2;
  }
  const command = argv[0];
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help, `tdl help`: commander has written the help already.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version') return err.exitCode === 0 ? 0 : 2;
      io.err(`tdl ${command}: ${usageProblem(err, command)}\n${usageHint(command)}`);
      return 2;
    }
    if (err instanceof ExitError) {
      io.err(`tdl ${command}: ${err.message}${err.exitCode === 2 ? `\n${usageHint(command)}` : ''}`);
      return err.exitCode;
    }
    io.err(`tdl ${command}: ${describeClientError(err) ?? (err as Error).message}`);
    return 1;
  }
}
