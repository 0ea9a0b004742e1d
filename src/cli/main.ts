/** `tdl`: the command line of test-deploy-loop. Exit codes: 0 success, 1 failed or rejected, 2 bad usage. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { connectClient, connectionSettings } from '../connection';
import * as messages from '../workflows/messages';
import { diagnoseCommand } from './diagnose';
import { processIo, UsageError, type Io } from './io';
import { loopInputJsonSchema } from '../config';
import { describeClientError, listLoops, readLoopInput, showReport, showStatus, signalLoop, startLoop, submitFix } from './loops';

const USAGE = `tdl: a durable test -> diagnose -> fix -> deploy -> verify loop on Temporal

Usage:
  tdl dev [--demo] [--port 7233] [--ui-port 8233] [--commands FILE]
                                    local Temporal dev server (state in .data/, Web UI) + worker; only
                                    a worker when TEMPORAL_ADDRESS or a temporal.toml profile is set
  tdl worker [--commands FILE]      a worker for an existing Temporal service; --commands (or
                                    TDL_COMMANDS_FILE): the suites, deploy and hand-off commands it runs
  tdl start --config FILE | --input JSON [--workflow-id ID] [--json]
  tdl fix ID --commit SHA [--summary TEXT] [--author NAME] [--json]
  tdl infra-restored ID [--note TEXT] [--json]
  tdl retest ID [--reason TEXT] [--json]
  tdl status ID [--json] [--watch]
  tdl report ID
  tdl list [--json] [--limit N]
  tdl diagnose --junit FILE... [--json]
  tdl schema                        the loop input's JSON Schema (draft 2020-12)

Common options: --task-queue NAME (default ${messages.DEFAULT_TASK_QUEUE}, or TDL_TASK_QUEUE),
--reports-dir DIR (workers; default ./reports, or TDL_REPORTS_DIR).
Connection: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE.`;

type Options = NonNullable<ParseArgsConfig['options']>;

const common: Options = {
  'task-queue': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const commandOptions: Record<string, Options> = {
  dev: { 'reports-dir': { type: 'string' }, commands: { type: 'string' }, demo: { type: 'boolean' }, port: { type: 'string' }, 'ui-port': { type: 'string' } },
  worker: { 'reports-dir': { type: 'string' }, commands: { type: 'string' } },
  schema: {},
  start: { config: { type: 'string' }, input: { type: 'string' }, 'workflow-id': { type: 'string' } },
  fix: { commit: { type: 'string' }, summary: { type: 'string' }, author: { type: 'string' } },
  'infra-restored': { note: { type: 'string' } },
  retest: { reason: { type: 'string' } },
  status: { watch: { type: 'boolean' } },
  report: {},
  list: { limit: { type: 'string' } },
};

/** Commands that take one loop id. */
const WITH_ID = new Set(['fix', 'infra-restored', 'retest', 'status', 'report']);

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    io.out(USAGE);
    return command ? 0 : 2;
  }
  if (command === 'diagnose') {
    return diagnoseCommand(rest, process.stdout, process.stderr);
  }
  try {
    const options = commandOptions[command];
    if (!options) throw new UsageError(`unknown command "${command}"`);
    const { values, positionals } = parseArgs({ args: rest, options: { ...common, ...options }, allowPositionals: true, strict: true });
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    const v = values as Record<string, string | boolean | undefined>;
    const str = (name: string) => v[name] as string | undefined;
    const json = Boolean(v.json);
    const taskQueue = str('task-queue') ?? process.env.TDL_TASK_QUEUE ?? messages.DEFAULT_TASK_QUEUE;
    if (WITH_ID.has(command) ? positionals.length !== 1 : positionals.length !== 0) {
      throw new UsageError(WITH_ID.has(command) ? `${command} takes one workflow id` : `${command} takes no positional arguments`);
    }
    const id = positionals[0];

    if (command === 'dev' || command === 'worker') {
      const port = (name: string, fallback: number) => {
        const p = Number(str(name) ?? fallback);
        if (!Number.isInteger(p) || p < 1 || p > 65535) throw new UsageError(`--${name} takes a port number from 1 to 65535`);
        return p;
      };
      // The worker (and its native runtime) loads only for the commands that run one.
      const { runWorkerCommand } = await import('./dev');
      return await runWorkerCommand(io, {
        taskQueue,
        reportsDir: str('reports-dir'),
        commandsFile: str('commands'),
        embedded: command === 'dev' ? { port: port('port', 7233), uiPort: port('ui-port', 8233) } : null,
        // Loaded only for the demo: it brings the example staging service along.
        whileRunning: v.demo ? async (settings, signal) => (await import('../../examples/demo/run')).runDemo(io, settings, taskQueue, signal) : undefined,
      });
    }

    if (command === 'schema') {
      io.out(JSON.stringify(loopInputJsonSchema(), null, 2));
      return 0;
    }
    // Bad input is named before any connection is tried.
    const loopInput = command === 'start' ? readLoopInput({ config: str('config'), input: str('input') }) : null;
    const client = await connectClient().catch((err: Error) => {
      throw new Error(`cannot reach Temporal at ${connectionSettings().address}: ${err.message}. Run \`tdl dev\` or set TEMPORAL_ADDRESS.`);
    });
    try {
      switch (command) {
        case 'start':
          return await startLoop(client, io, loopInput!, { workflowId: str('workflow-id'), taskQueue, json });
        case 'fix': {
          const commit = str('commit');
          if (!commit) throw new UsageError('fix needs --commit SHA');
          return await submitFix(client, io, id, { commit, summary: str('summary'), author: str('author') }, json);
        }
        case 'infra-restored':
          return await signalLoop(client, io, id, messages.infraRestored, { note: str('note') }, json);
        case 'retest':
          return await signalLoop(client, io, id, messages.retest, { reason: str('reason') }, json);
        case 'status':
          return await showStatus(client, io, id, { json, watch: Boolean(v.watch) });
        case 'report':
          return await showReport(client, io, id);
        default: {
          const limit = Number(str('limit') ?? 50);
          if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit takes a whole number of at least 1');
          return await listLoops(client, io, { json, limit });
        }
      }
    } finally {
      await client.connection.close();
    }
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`tdl ${command}: ${(err as Error).message}\nRun \`tdl --help\` for usage.`);
      return 2;
    }
    io.err(`tdl ${command}: ${describeClientError(err) ?? (err as Error).message}`);
    return 1;
  }
}
