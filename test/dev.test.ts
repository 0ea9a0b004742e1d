/**
 * `tdl dev`, the embedded default, as a user runs it: a dev server with its state in .data/ and the
 * Web UI, a worker, both stopped by Ctrl-C (SIGINT); a loop waiting for a fix survives a restart of
 * the whole thing.
 */
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import * as messages from '../src/workflows/messages';
import type { LoopResult } from '../src/workflows/loop';
import { deploys, loopInput, stagingDir } from './support/loop-input';
import { eventually, freePort, TDL, tempDir } from './support/temporal';

interface Dev {
  child: ChildProcess;
  stderr: () => string;
}

/** Starts `tdl dev` in `cwd` with no Temporal address configured; resolves once the worker serves. */
async function startDev(cwd: string, port: number, uiPort: number): Promise<Dev> {
  const env: NodeJS.ProcessEnv = { ...process.env, TDL_LOG_LEVEL: 'WARN' };
  delete env.TEMPORAL_ADDRESS;
  const child = spawn(process.execPath, [TDL, 'dev', '--port', String(port), '--ui-port', String(uiPort)], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  await eventually(async () => {
    if (child.exitCode !== null) throw new Error(`tdl dev exited ${child.exitCode}: ${stderr}`);
    return /worker serving task queue "test-deploy-loop"/.test(stderr) ? true : undefined;
  }, 'tdl dev to serve', 60_000);
  return { child, stderr: () => stderr };
}

/** Ctrl-C: both the worker and the server stop, and tdl exits 0. */
async function stopDev(dev: Dev): Promise<number | null> {
  const exited = new Promise<number | null>((r) => dev.child.once('exit', (code) => r(code)));
  dev.child.kill('SIGINT');
  return exited;
}

describe('tdl dev, the embedded default', function () {
  it('runs a dev server and a worker, keeps loops across a restart, and stops on Ctrl-C', async function () {
    const cwd = tempDir('tdl-dev-');
    const [port, uiPort] = [await freePort(), await freePort()];
    let dev = await startDev(cwd, port, uiPort);
    const staging = stagingDir();
    let connection = await Connection.connect({ address: `127.0.0.1:${port}` });
    try {
      const ui = await fetch(`http://127.0.0.1:${uiPort}/`);
      assert.equal(ui.status, 200, 'the Web UI answers');
      assert.ok(existsSync(join(cwd, '.data', 'temporal.db')), 'state is kept in .data/');

      const client = new Client({ connection });
      const handle = await client.workflow.start(messages.WORKFLOW_TYPE, {
        taskQueue: messages.DEFAULT_TASK_QUEUE,
        workflowId: 'dev-restart',
        args: [loopInput(staging)],
      });
      await eventually(async () => ((await handle.query(messages.status)).phase === 'awaiting-fix' ? true : undefined), 'awaiting-fix');

      assert.equal(await stopDev(dev), 0, 'Ctrl-C stops tdl dev cleanly');
      await connection.close();
      await assert.rejects(Connection.connect({ address: `127.0.0.1:${port}`, connectTimeout: 1000 }), 'the server stopped too');

      dev = await startDev(cwd, port, uiPort);
      connection = await Connection.connect({ address: `127.0.0.1:${port}` });
      const again = new Client({ connection }).workflow.getHandle('dev-restart');
      await again.signal(messages.fixCommitted, { commit: 'after-restart' });
      const result: LoopResult = await again.result();
      assert.equal(result.phase, 'passed');
      assert.deepEqual(deploys(staging), ['after-restart']);
      assert.ok(fileURLToPath(result.reportPath!).startsWith(join(cwd, 'reports')), 'reports go to ./reports by default');
    } finally {
      await connection.close();
      if (dev.child.exitCode === null) assert.equal(await stopDev(dev), 0);
    }
  });
});
