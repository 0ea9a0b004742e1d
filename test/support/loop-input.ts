/** Loop inputs for tests: the scripted suite against a staging folder, a command deployer. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';

/** dist/test/support -> the compiled scripted suite. */
export const E2E_SUITE = resolve(__dirname, 'e2e-suite.js');

/** The deploy "platform": deploying a commit records it and makes the suite pass. */
export function deployCommand(stagingDir: string): string {
  return `echo "$COMMIT" >> '${stagingDir}/deploys.log' && echo "$COMMIT" > '${stagingDir}/deployed'`;
}

/** The commits deployed so far, in order. */
export function deploys(stagingDir: string): string[] {
  return readFileSync(join(stagingDir, 'deploys.log'), 'utf8').split('\n').filter(Boolean);
}

/** A fresh staging folder: nothing deployed yet. */
export function stagingDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tdl-staging-'));
  writeFileSync(join(dir, 'deploys.log'), '');
  return dir;
}

export function loopInput(stagingDir: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'netra-staging',
    suite: { command: `node ${E2E_SUITE}`, env: { STAGING_DIR: stagingDir }, timeout: '2m' },
    deploy: { kind: 'command', command: deployCommand(stagingDir), timeout: '1m' },
    maxCycles: 5,
    ...overrides,
  };
}

/** A real HTTP health endpoint on loopback whose status the test controls. */
export async function startHealthServer(status = 200): Promise<{ url: string; setStatus(s: number): void; hits(): number; close(): Promise<void> }> {
  let current = status;
  let hits = 0;
  const server: Server = createServer((_req, res) => {
    hits++;
    res.writeHead(current, { 'content-type': 'application/json' });
    res.end(current === 200 ? '{"status":"ok"}' : '{"error":"Database initialization failed: Failed to create tables"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/health`,
    setStatus: (s) => (current = s),
    hits: () => hits,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
