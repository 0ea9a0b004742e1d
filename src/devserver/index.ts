/**
 * The embedded default: a local Temporal dev server (state in .data/, Web UI on :8233) run from
 * the Temporal CLI, stopped with us.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { devServerSearchAttributeArgs } from '../search-attributes';
import { ensureTemporalCli } from './temporal-cli';

export interface DevServerOptions {
  dataDir?: string;
  ip?: string;
  port?: number;
  uiPort?: number;
  log?: (line: string) => void;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  logPath: string;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;

function portInUse(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

/** A port on `ip` that was free a moment ago, other than those in `besides`. */
export async function freePort(ip: string, besides: number[] = []): Promise<number> {
  for (;;) {
    const server = createServer();
    await new Promise<void>((listening, fail) => server.once('error', fail).listen(0, ip, listening));
    const { port } = server.address() as AddressInfo;
    await new Promise((closed) => server.close(closed));
    if (!besides.includes(port)) return port;
  }
}

async function waitUntilServing(address: string, child: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the Temporal dev server exited with code ${child.exitCode}; see ${logPath}`);
    try {
      const connection = await NativeConnection.connect({ address });
      await connection.close();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`the Temporal dev server did not answer on ${address} within 60 s; see ${logPath}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const ip = opts.ip ?? '127.0.0.1';
  const port = opts.port ?? 7233;
  const uiPort = opts.uiPort ?? 8233;
  const dataDir = resolve(opts.dataDir ?? '.data');
  if (await portInUse(ip, port)) {
    throw new Error(
      `port ${port} on ${ip} is already in use: is another Temporal server running? ` +
        `To use it, set TEMPORAL_ADDRESS=${ip}:${port} and run \`tdl worker\`.`,
    );
  }
  // The CLI would pick these itself, before its server binds --port, and could pick that very port
  // (a restart in CI failed with "bind: address already in use"): chosen here, all four differ.
  const httpPort = await freePort(ip, [port, uiPort]);
  const metricsPort = await freePort(ip, [port, uiPort, httpPort]);
  const cli = ensureTemporalCli(opts.log);
  mkdirSync(dataDir, { recursive: true });
  const logPath = join(dataDir, 'temporal-dev-server.log');
  const out = openSync(logPath, 'a');
  const child = spawn(
    cli,
    ['server', 'start-dev', '--ip', ip, '--port', String(port), '--ui-port', String(uiPort), '--http-port', String(httpPort), '--metrics-port', String(metricsPort), '--db-filename', join(dataDir, 'temporal.db'), '--log-level', 'warn', ...devServerSearchAttributeArgs()],
    { stdio: ['ignore', out, out] },
  );
  const address = `${ip}:${port}`;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitUntilServing(address, child, logPath);
  } catch (err) {
    await stop();
    throw err;
  }
  return { address, uiUrl: `http://localhost:${uiPort}`, logPath, stop };
}
