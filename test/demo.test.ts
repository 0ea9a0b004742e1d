/**
 * The README's main job, `npm run demo` (the demo's own entry point), on free ports in a fresh folder: the
 * seed's cycle runs to `passed` unattended, and everything it started stops.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, tempDir } from './support/temporal';

const DEMO = join(__dirname, '..', 'examples', 'demo', 'main.js');

describe('the demo (npm run demo)', function () {
  it('runs the seed cycle to passed and stops', async function () {
    const cwd = tempDir('tdl-demo-');
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.TEMPORAL_ADDRESS;
    const args = [DEMO, '--port', String(await freePort()), '--ui-port', String(await freePort())];
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((done) =>
      execFile(process.execPath, args, { cwd, env, timeout: 90_000 }, (err, out) => done({ code: err ? Number((err as { code?: number }).code) : 0, stdout: out })),
    );
    assert.equal(code, 0, stdout);
    assert.match(stdout, /phase: +awaiting-fix, waiting for fix/);
    assert.match(stdout, /24 × websocket-handshake/);
    assert.match(stdout, /phase: +passed/);
    assert.match(stdout, /\*\*Fix\*\*: `[0-9a-f]{9}` add jwt-auth WebSocket subprotocol \(demo fix team\)/);
    assert.ok(existsSync(join(cwd, '.data', 'temporal.db')));
    const [loop] = readdirSync(join(cwd, 'reports'));
    assert.ok(existsSync(join(cwd, 'reports', loop, 'loop-report.md')));
  });
});
