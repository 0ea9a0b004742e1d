/**
 * The README's main job, `npm run demo` (the demo's own entry point), on free ports in a fresh folder:
 * the seed's whole story runs to `passed` unattended (24 handshake failures, the fix, a deploy through
 * the real Cloud Run client to the stand-in, the database failure read from the revision's logs, the
 * rollback, the infrastructure team's repair, the redeploy, green), and everything it started stops.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { freePort, tempDir } from './support/temporal';

const DEMO = join(__dirname, '..', 'examples', 'demo', 'main.js');

describe('the demo (npm run demo)', function () {
  it("plays the seed's whole story to passed, with the Web UI showing it meanwhile, and stops", async function () {
    const cwd = tempDir('tdl-demo-');
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.TEMPORAL_ADDRESS;
    const uiPort = await freePort();
    const port = await freePort();
    const child = spawn(process.execPath, [DEMO, '--port', String(port), '--ui-port', String(uiPort)], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const bound = setTimeout(() => child.kill('SIGKILL'), 120_000);
    let stdout = '';
    let uiAnswered: number | null = null;
    let details: Promise<string> | null = null;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const url = /watch it in the Web UI: (\S+\/workflows\/(\S+))/.exec(stdout);
      if (url && uiAnswered === null) {
        uiAnswered = 0;
        void fetch(url[1]).then((r) => (uiAnswered = r.status));
        details = currentDetails(port, url[2]);
      }
    });
    child.stderr.resume();
    const code = await new Promise<number | null>((done) => child.on('exit', done));
    clearTimeout(bound);
    assert.equal(code, 0, stdout);
    assert.equal(uiAnswered, 200, "the loop's page in the Web UI answered while the loop ran");
    // What the Web UI shows on that page (its User Metadata tab): the loop's current details.
    assert.match(await details!, /cycle 1 of 3[\s\S]*Time so far: testing/);

    const steps = [
      /cycle 1: 1\/25 passed; root cause: 24 × websocket-handshake/,
      /phase: +awaiting-fix, waiting for fix/,
      /cycle 1: fix ([0-9a-f]{9}) received from demo fix team/,
      /cycle 1: deployed [0-9a-f]{9} to Cloud Run: revision (demo-backend-00002-\w+)/,
      /cycle 1: staging unhealthy: HTTP 503/,
      /cycle 1: the revision's logs \(database\): Database initialization failed .*Failed to create tables/,
      /cycle 1: rolled back to demo-backend-00001-\w+ \(staging still unhealthy\)/,
      /phase: +blocked-infra, waiting for infra/,
      /cycle 1: infrastructure restored \(infraRestored\)/,
      /cycle 1: deployed [0-9a-f]{9} again to Cloud Run: revision demo-backend-00002-\w+/,
      /cycle 1: staging verified healthy/,
      /cycle 2: 25\/25 passed/,
      /phase: +passed/,
    ];
    let from = 0;
    for (const step of steps) {
      const m = step.exec(stdout.slice(from));
      assert.ok(m, `${step} after what came before it, in:\n${stdout}`);
      from += m.index + m[0].length;
    }
    assert.match(stdout, /why: +staging unhealthy after deploying [0-9a-f]{9} .*the service's logs say: Database initialization failed.*Failed to create tables/);
    const fixRevision = /revision (demo-backend-00002-\w+)/.exec(stdout)![1];
    assert.match(stdout, new RegExp(`Cloud Run revisions of demo-backend: demo-backend-00001-\\w+, ${fixRevision}; serving ${fixRevision}`), 'no second revision for the same commit');

    // The final report shows each step, and where the time went.
    const [loop] = readdirSync(join(cwd, 'reports'));
    const report = readFileSync(join(cwd, 'reports', loop, 'loop-report.md'), 'utf8');
    assert.match(report, /\*\*Fix\*\*: `[0-9a-f]{9}` add jwt-auth WebSocket subprotocol \(demo fix team\)/);
    assert.match(report, /\*\*Service logs\*\* \(Cloud Logging, revision demo-backend-00002-\w+\), \d+ error entries, 2 distinct: \*\*infrastructure\*\* \(database\)/);
    assert.match(report, /3 ×\n\n +Database initialization failed/);
    assert.match(report, /\*\*Rollback\*\* to demo-backend-00001-\w+/);
    assert.match(report, /\*\*Blocked on infrastructure\*\* since .*Failed to create tables/);
    assert.match(report, /restored at .* \(infraRestored, 0 rechecks\)/);
    assert.match(report, /\| Time \| testing [\d.]+ s, diagnosing [\d.]+ s, deploying [\d.]+ s, verifying [\d.]+ s, waiting for a fix [\d.]+ s, blocked on infrastructure [\d.]+ s/);
    assert.match(report, /\| Time to green \| [\d.]+ s \|/);
    assert.ok(existsSync(join(cwd, '.data', 'temporal.db')));
  });
});

/** The workflow's current details as the Web UI reads them (the SDK's metadata query), while it runs. */
async function currentDetails(port: number, workflowId: string): Promise<string> {
  const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
  try {
    const handle = new Client({ connection }).workflow.getHandle(workflowId);
    for (let i = 0; i < 100; i++) {
      const meta = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata').catch(() => null);
      // Once a phase has taken some time.
      if (meta?.currentDetails && /Time so far: testing/.test(meta.currentDetails)) return meta.currentDetails;
      await new Promise((r) => setTimeout(r, 200));
    }
    return '';
  } finally {
    await connection.close();
  }
}
