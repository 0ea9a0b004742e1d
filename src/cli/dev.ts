/**
 * `tdl dev` and `tdl worker`. dev is the embedded default: without a configured Temporal address it
 * starts a local dev server (state in .data/, Web UI on :8233) and a worker, and stops both on Ctrl-C.
 */
import { NativeConnection } from '@temporalio/worker';
import type { ConnectionSettings } from '../connection';
import { startDevServer, type DevServer } from '../devserver';
import { installLogging, writeLog } from '../log';
import { prometheusMetrics } from '../metrics';
import { ConfigError } from '../config';
import { describePolicy, loadCommandPolicy } from '../policy';
import { createLoopWorker, type WorkerCapacity } from '../worker';
import { cannotReach, UsageError, type Io } from './io';
import { cliConnectionSettings } from './ops';

export interface WorkerCommandOptions {
  taskQueue: string;
  reportsDir?: string;
  /** The command policy file (--commands, or TDL_COMMANDS_FILE); none: inline commands run. */
  commandsFile?: string;
  /** Start the embedded dev server on these ports when no address is configured. */
  embedded: { port: number; uiPort: number } | null;
  /** Serve Prometheus metrics (the SDK's and the loops') on host:port. */
  metrics?: { host: string; port: number };
  capacity?: WorkerCapacity;
  /** Runs while the worker serves (the demo's own entry point plugs it in). */
  whileRunning?: WhileRunning;
}

/**
 * Work done while the worker serves, such as the demo; the worker stops when it settles, and its
 * exit code is the command's. Its signal is aborted when the worker stops first (Ctrl-C).
 */
export type WhileRunning = (io: Io, settings: ConnectionSettings, taskQueue: string, signal: AbortSignal) => Promise<number>;

/** The exit code of a program stopped by Ctrl-C (128 + SIGINT). */
const INTERRUPTED = 130;

export async function runWorkerCommand(io: Io, opts: WorkerCommandOptions): Promise<number> {
  // The demo prints the loop's story; its routine logs would bury it.
  installLogging(
    opts.whileRunning && !process.env.TDL_LOG_LEVEL ? 'WARN' : undefined,
    opts.metrics && prometheusMetrics(opts.metrics.host, opts.metrics.port),
  );
  const policyFile = opts.commandsFile ?? (process.env.TDL_COMMANDS_FILE || undefined);
  let commands = null;
  try {
    commands = policyFile ? loadCommandPolicy(policyFile) : null;
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`--commands ${err.message}`);
    throw err;
  }
  let settings = cliConnectionSettings();
  let server: DevServer | null = null;
  if (opts.embedded && !settings.configured) {
    server = await startDevServer({ ...opts.embedded, log: (line) => io.err(line) });
    settings = { ...settings, address: server.address, connectionOptions: { ...settings.connectionOptions, address: server.address } };
    io.err(`Temporal dev server on ${server.address}, Web UI on ${server.uiUrl} (state in .data/)`);
  }
  let exitCode = 0;
  try {
    const connection = await NativeConnection.connect(settings.connectionOptions).catch((err: unknown) => {
      throw cannotReach(settings.address, err);
    });
    const worker = await createLoopWorker({
      connection,
      namespace: settings.namespace,
      taskQueue: opts.taskQueue,
      reportsDir: opts.reportsDir,
      commands,
      payloadCodecs: settings.payloadCodecs,
      capacity: opts.capacity,
    });
    writeLog('INFO', 'worker started', { address: settings.address, namespace: settings.namespace, taskQueue: opts.taskQueue });
    writeLog(commands ? 'INFO' : 'WARN', describePolicy(commands, policyFile ?? null));
    if (opts.metrics) writeLog('INFO', 'metrics served', { url: `http://${opts.metrics.host}:${opts.metrics.port}/metrics` });
    if (settings.payloadCodecs.length) writeLog('INFO', 'payloads encrypted (TDL_ENCRYPTION_KEY)');
    io.err(`worker serving task queue "${opts.taskQueue}" on ${settings.address}; Ctrl-C stops ${server ? 'both' : 'it'}`);
    const running = worker.run();
    if (opts.whileRunning) {
      const stopped = new AbortController();
      const interrupted = running.then(() => {
        stopped.abort();
        return INTERRUPTED;
      });
      exitCode = await Promise.race([opts.whileRunning(io, settings, opts.taskQueue, stopped.signal), interrupted]);
      if (worker.getState() === 'RUNNING') worker.shutdown();
    }
    // Ctrl-C and SIGTERM make the worker shut down gracefully (the SDK installs those handlers).
    await running;
    await connection.close();
  } finally {
    await server?.stop();
  }
  return exitCode;
}
