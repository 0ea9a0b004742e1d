/**
 * Hostile suites and servers against a real dev server and an in-process worker: output floods,
 * daemons that hold the pipes or leave the process group, endless HTTP bodies, workflow ids that
 * collide or are too long for a folder name. Every loop ends within seconds of its bound.
 */
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { folderName, workDir } from '../src/activities/paths';
import { probeHttp } from '../src/diagnosis/probes';
import * as messages from '../src/workflows/messages';
import type { LoopResult } from '../src/workflows/loop';
import { loopInput, stagingDir } from './support/loop-input';
import { processesOfRun, runIdIn } from './support/processes';
import { eventually, tempDir, workerPerTest } from './support/temporal';

/** A suite step that writes a passing one-test JUnit report. */
const PASSING_JUNIT = `printf '<testsuite name="s" tests="1"><testcase classname="c" name="ok"/></testsuite>' > "$JUNIT_XML"`;

async function loopFailure(handle: WorkflowHandle): Promise<ApplicationFailure> {
  const err = await handle.result().then(
    () => assert.fail('the loop should have failed'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure, `expected a typed failure, got ${err}`);
  return err.cause;
}

/** Every file under a loop's report folder. */
function filesIn(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(dir, f)).isFile());
}

/**
 * An HTTP server on 127.0.0.1 that answers 200 with a body that never ends, as fast as the client
 * takes it; records how many bytes each response got out before the client hung up.
 */
async function endlessServer(): Promise<{ url: string; sent: number[]; close(): Promise<void> }> {
  const sent: number[] = [];
  const chunk = Buffer.from('endless body '.repeat(5000));
  const server: Server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    let bytes = 0;
    const pump = () => {
      while (!res.destroyed && bytes < 2 * 1024 ** 3) {
        bytes += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
    };
    res.on('close', () => sent.push(bytes));
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    sent,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

describe('hostile suites and servers', function () {
  const { start, current, env } = workerPerTest();
  let savedCap: string | undefined;
  before(() => {
    savedCap = process.env.TDL_MAX_OUTPUT_BYTES;
    // The in-process worker reads its setting from this process.
    process.env.TDL_MAX_OUTPUT_BYTES = '5M';
  });
  after(() => {
    if (savedCap === undefined) delete process.env.TDL_MAX_OUTPUT_BYTES;
    else process.env.TDL_MAX_OUTPUT_BYTES = savedCap;
  });

  it('a suite flooding its output: heartbeats go on, the timeout holds, the log stays under the cap', async function () {
    const dir = tempDir('tdl-flood-');
    writeFileSync(join(dir, 'chunk'), `${'flood '.repeat(20_000)}\n`.repeat(70)); // 8.4 MB
    const started = Date.now();
    const handle = await start({ suite: { command: `echo "$TDL_RUN_ID"; while :; do cat chunk; done`, cwd: dir, timeout: '7s' } });
    // The first heartbeat is recorded while the flood goes on.
    const heartbeat = await eventually(async () => {
      const { raw } = await handle.describe();
      return raw.pendingActivities?.[0]?.lastHeartbeatTime ?? undefined;
    }, 'a heartbeat of runSuite', 15_000);
    assert.ok(heartbeat);
    const failure = await loopFailure(handle);
    const took = Date.now() - started;
    assert.equal(failure.type, 'NoJUnitReport');
    assert.match(failure.message, /stopped after suite\.timeout \(7s\)/);
    assert.ok(took < 7000 + 10_000, `the loop ended ${took} ms after it started`);

    const log = join(current().reportsDir, handle.workflowId, 'cycle-1', 'suite-output.log');
    assert.ok(statSync(log).size <= 5 * 1024 * 1024 + 200, `log of ${statSync(log).size} bytes`);
    assert.match(readFileSync(log, 'utf8').slice(-200), /\n\[tdl\] output beyond the 5 MiB cap \(TDL_MAX_OUTPUT_BYTES\): \d+ bytes dropped\n$/);
    assert.deepEqual(processesOfRun(runIdIn(log)), [], 'the flood is stopped');
  });

  it('a suite that leaves a daemon holding its output: the cycle ends at once and the daemon is gone', async function () {
    const started = Date.now();
    const handle = await start({ suite: { command: `echo "$TDL_RUN_ID"; setsid sleep 600 & ${PASSING_JUNIT}`, timeout: '2m' } });
    const result: LoopResult = await handle.result();
    assert.equal(result.phase, 'passed');
    assert.ok(Date.now() - started < 15_000, `passed after ${Date.now() - started} ms`);
    const loop = join(current().reportsDir, handle.workflowId);
    assert.deepEqual(processesOfRun(runIdIn(join(loop, 'cycle-1', 'suite-output.log'))), []);
    assert.deepEqual(
      filesIn(loop).filter((f) => f.endsWith('.xml')),
      [],
      'the raw JUnit report is not in the reports folder',
    );
    assert.ok(!existsSync(join(workDir(), folderName(handle.workflowId))), 'the work folder is removed when the loop ends');
  });

  it('a suite whose daemon holds the pipes past suite.timeout: the loop ends seconds after it', async function () {
    const started = Date.now();
    const handle = await start({ suite: { command: `echo "$TDL_RUN_ID"; setsid sleep 600 & sleep 600`, timeout: '2s' } });
    const failure = await loopFailure(handle);
    assert.equal(failure.type, 'NoJUnitReport');
    assert.ok(Date.now() - started < 2000 + 10_000, `ended after ${Date.now() - started} ms`);
    const log = join(current().reportsDir, handle.workflowId, 'cycle-1', 'suite-output.log');
    assert.deepEqual(processesOfRun(runIdIn(log)), []);
  });

  it('failed tests whose ids do not fit in $FAILED_TESTS: no rerun, and the loop goes on to the fix team', async function () {
    const dir = tempDir('tdl-long-ids-');
    const name = 'a very long parametrised test id '.repeat(3000); // 99 KB
    writeFileSync(join(dir, 'report.xml'), `<testsuite name="s" tests="1"><testcase classname="c" name="${name}"><failure message="boom"/></testcase></testsuite>`);
    const handle = await start({ suite: { command: 'cp report.xml "$JUNIT_XML"; exit 1', cwd: dir, rerunFailed: 'touch rerun-ran' } });
    const status = await eventually(async () => {
      const s = await handle.query(messages.status);
      return s.phase === 'awaiting-fix' ? s : undefined;
    }, 'awaiting-fix');
    await handle.cancel();
    assert.equal(status.lastRun!.failed, 1);
    assert.ok(!existsSync(join(dir, 'rerun-ran')), 'the rerun did not run with a cut list');
  });

  it('health check, live probe and webhook answering an endless body are read only up to a few KB', async function () {
    const [health, hook] = [await endlessServer(), await endlessServer()];
    try {
      const staging = stagingDir();
      const handle = await start(
        loopInput(staging, {
          verify: { url: health.url, timeout: '20s', interval: '1s' },
          probes: { http: { url: health.url } },
          handoff: { webhookUrl: hook.url },
        }),
      );
      await eventually(async () => {
        const s = await handle.query(messages.status);
        return s.phase === 'awaiting-fix' && hook.sent.length > 0 ? s : undefined;
      }, 'awaiting-fix with the fix team told');
      await handle.signal(messages.fixCommitted, { commit: 'b0d1e5' });
      const result: LoopResult = await handle.result();
      assert.equal(result.phase, 'passed');
      const status = await handle.query(messages.status);
      assert.equal(status.cycles[0].verify!.healthy, true);
      assert.ok(JSON.stringify(status).length < 20_000, 'the endless body is not in the status');
      // What the servers got out before the worker hung up: socket buffers, not the body.
      assert.ok(health.sent.length >= 2 && hook.sent.length >= 1, `${health.sent.length} health, ${hook.sent.length} webhook responses`);
      for (const bytes of [...health.sent, ...hook.sent]) assert.ok(bytes < 32 * 1024 * 1024, `${bytes} bytes sent before the hang-up`);
    } finally {
      await Promise.all([health.close(), hook.close()]);
    }
  });

  it('ids that differ only in unsafe characters, and a 305-character id, get distinct short folders', async function () {
    const tag = randomUUID().slice(0, 8);
    const ids = [`coll-${tag}/x`, `coll-${tag}_x`, `${tag}-${'n'.repeat(296)}`];
    assert.equal(ids[2].length, 305);
    const results = await Promise.all(
      ids.map(async (workflowId) => {
        const handle = await env().client.workflow.start(messages.WORKFLOW_TYPE, {
          taskQueue: current().taskQueue,
          workflowId,
          args: [{ suite: { command: PASSING_JUNIT } }],
        });
        return (await handle.result()) as LoopResult;
      }),
    );
    assert.deepEqual(results.map((r) => r.phase), ['passed', 'passed', 'passed']);
    const folders = results.map((r) => dirname(fileURLToPath(r.reportPath!)));
    assert.equal(new Set(folders).size, 3, folders.join(' '));
    for (const folder of folders) {
      assert.equal(dirname(folder), current().reportsDir);
      assert.ok(basename(folder).length <= 100, basename(folder));
      assert.ok(existsSync(join(folder, 'cycle-1', 'suite-output.log')));
    }
    assert.equal(basename(folders[1]), ids[1], 'a safe id keeps its plain name');
  });
});

describe('the HTTP probe against an endless body', function () {
  it('answers within its bound with an excerpt', async function () {
    const server = await endlessServer();
    try {
      const result = await probeHttp(server.url, { timeoutMs: 5000 });
      assert.equal(result.status, 200);
      assert.match(result.body, /^(endless body ){20,}.*…$/);
      assert.ok(result.body.length <= 300, `${result.body.length} characters`);
      await eventually(async () => (server.sent.length === 1 ? true : undefined), 'the probe to hang up', 5000);
      assert.ok(server.sent[0] < 32 * 1024 * 1024, `${server.sent[0]} bytes sent`);
    } finally {
      await server.close();
    }
  });
});
