/**
 * The seed's cycle, end to end, on a real dev server with the real @google-cloud/run client against
 * the Cloud Run Admin API stand-in: the fix is deployed, staging answers 503 because the database
 * will not start, traffic is rolled back, the loop waits out the infrastructure block, deploys the
 * fix again, verifies, and the suite goes green.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { grpc } from 'google-gax';
import * as messages from '../src/workflows/messages';
import type { LoopResult } from '../src/workflows/loop';
import { DB_INIT_FAILURE, startCloudRunStandIn, type CloudRunStandIn } from '../examples/stand-ins/cloud-run';
import { E2E_SUITE, stagingDir } from './support/loop-input';
import { eventually, killHard, phaseIs, spawnWorker, startTimeSkippingServer, tempDir, testEnv, workerPerTest } from './support/temporal';
import { startWebhookReceiver } from './support/webhook';

const SERVICE = 'projects/p/locations/us-central1/services/netra-backend-staging';
const FIX = '176ad633b';

interface Staging {
  dir: string;
  standIn: CloudRunStandIn;
  /** The revision the stand-in had serving before the loop's deploy. */
  original: string;
  healthUrl: string;
  /** While true, every revision answers 503 with the seed's database error. */
  databaseDown: boolean;
  /** Set the first time the fix's revision serves: its migration breaks the database. */
  breakDatabaseOnFix: boolean;
  webhooks: Record<string, unknown>[];
  webhookUrl: string;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A Cloud Run stand-in, a staging health endpoint that follows its traffic, and a webhook receiver. */
async function startStaging(pollsToComplete = 1): Promise<Staging> {
  const standIn = await startCloudRunStandIn({ pollsToComplete });
  const dir = stagingDir();
  const { revision: original } = standIn.seedService({ service: 'netra-backend-staging', image: 'us-docker.pkg.dev/p/r/backend:old' });
  const health = createServer((_req, res) => {
    res.writeHead(s.databaseDown ? 503 : 200, { 'content-type': 'text/plain' });
    res.end(s.databaseDown ? `Service Unavailable: ${DB_INIT_FAILURE}` : 'ok');
  });
  const hooks = await startWebhookReceiver();
  const s: Staging = {
    dir,
    standIn,
    original,
    healthUrl: `${await listen(health)}/health`,
    databaseDown: false,
    breakDatabaseOnFix: false,
    webhooks: hooks.received,
    webhookUrl: hooks.url,
    close: async () => {
      await standIn.close();
      await new Promise((r) => health.close(r));
      await hooks.close();
    },
  };
  // The suite passes once the fix's revision serves (the scripted suite reads this marker).
  standIn.onTrafficChange((_service, revision) => {
    const image = [...standIn.state.revisions.values()].find((r) => r.name?.endsWith(`/${revision}`))?.containers?.[0]?.image ?? '';
    const fixServing = image.endsWith(`:${FIX}`);
    if (fixServing && s.breakDatabaseOnFix) {
      s.databaseDown = true;
      s.breakDatabaseOnFix = false;
    }
    if (fixServing) writeFileSync(join(dir, 'deployed'), FIX);
    else rmSync(join(dir, 'deployed'), { force: true });
  });
  return s;
}

function loopInput(s: Staging, infra: Record<string, string>, remindEvery = '4h'): Record<string, unknown> {
  return {
    name: 'netra-staging',
    suite: { command: `node ${E2E_SUITE}`, env: { STAGING_DIR: s.dir }, timeout: '2m' },
    deploy: {
      kind: 'cloud-run',
      project: 'p',
      region: 'us-central1',
      service: 'netra-backend-staging',
      image: 'us-docker.pkg.dev/p/r/backend:{commit}',
      endpoint: s.standIn.endpoint,
      timeout: '1m',
    },
    verify: { url: s.healthUrl, expectStatus: 200, timeout: '2s', interval: '1s' },
    handoff: { webhookUrl: s.webhookUrl, remindEvery },
    infra,
    maxCycles: 3,
  };
}

describe("the seed's path: deploy, 503, rollback, blocked-infra, redeploy, green", function () {
  let s: Staging;
  const { start } = workerPerTest();

  beforeEach(async function () {
    s = await startStaging();
  });
  afterEach(async function () {
    await s.close();
  });

  it('waits for infraRestored after the rollback, then deploys the pending fix again and passes', async function () {
    s.breakDatabaseOnFix = true;
    const handle = await start(loopInput(s, { recheckEvery: '1h', giveUpAfter: '24h' }));
    await phaseIs(handle, 'awaiting-fix');
    await handle.executeUpdate(messages.submitFix, { args: [{ commit: FIX, summary: 'add jwt-auth subprotocol' }] });

    const blocked = await phaseIs(handle, 'blocked-infra');
    assert.equal(blocked.waitingFor, 'infra');
    const cycle = blocked.cycles[0];
    const fixRevision = cycle.deploy!.revision!;
    assert.notEqual(fixRevision, s.original);
    assert.equal(cycle.deploy!.previousRevision, s.original);
    assert.equal(cycle.verify!.healthy, false);
    assert.equal(cycle.verify!.lastStatus, 503);
    assert.match(cycle.verify!.evidence.join('\n'), /Database initialization failed/);
    assert.deepEqual(cycle.rollback, { revision: s.original, from: fixRevision, healthyAfter: false });
    assert.equal(s.standIn.servingRevision(SERVICE), s.original, 'traffic is back on the previous revision');
    assert.equal(blocked.pendingFix!.commit, FIX, 'the fix is still pending');

    s.databaseDown = false; // the infrastructure team fixed the database
    await handle.signal(messages.infraRestored, { note: 'tables recreated' });
    const result: LoopResult = await handle.result();
    assert.equal(result.phase, 'passed');
    assert.equal(result.cycles, 2);

    const final = await handle.query(messages.status);
    assert.equal(final.cycles[0].infra!.restoredBy, 'signal');
    assert.equal(final.cycles[0].verify!.healthy, true, 'the redeployed fix verified');
    assert.equal(s.standIn.servingRevision(SERVICE), fixRevision);
    assert.deepEqual(s.standIn.revisionsOf(SERVICE), [s.original, fixRevision], 'the redeploy made no new revision');
    assert.equal(s.standIn.calls.UpdateService, 3, 'deploy, rollback, redeploy');

    const audiences = s.webhooks.map((h) => h.audience);
    assert.deepEqual(audiences, ['fix-team', 'infra-team']);
    const infra = s.webhooks[1];
    assert.equal(infra.loop, 'netra-staging');
    assert.equal(infra.cycle, 1);
    assert.match(String(infra.text), /staging unhealthy after deploying 176ad633b: HTTP 503.*Rolled back to /);
    assert.equal(typeof (s.webhooks[0] as { report?: unknown }).report, 'string');
  });

  it('ends with a clear message on a permanent API error, without a retry storm', async function () {
    s.standIn.failNextCalls('GetService', grpc.status.PERMISSION_DENIED, 100, 'Permission run.services.get denied');
    const handle = await start(loopInput(s, {}));
    await phaseIs(handle, 'awaiting-fix');
    await handle.signal(messages.fixCommitted, { commit: FIX });
    const err = await handle.result().then(
      () => assert.fail('the loop should fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, 'DeployRejected');
    assert.match(err.cause.message, /permission/i);
    assert.equal(s.standIn.calls.GetService, 1, 'asked once, not retried');
    assert.equal(s.standIn.calls.UpdateService, 0);
    const final = await handle.query(messages.status);
    assert.equal(final.phase, 'gave-up');
  });
});

describe("the seed's path on the time-skipping server: the durable timers of blocked-infra", function () {
  let s: Staging;
  const { start, env } = workerPerTest(startTimeSkippingServer);

  beforeEach(async function () {
    s = await startStaging();
  });
  afterEach(async function () {
    await s.close();
  });

  it('rechecks health on a durable timer when a revision cannot start its database, and redeploys when it is back', async function () {
    s.standIn.failNextRevision(DB_INIT_FAILURE);
    s.databaseDown = true;
    const handle = await start(loopInput(s, { recheckEvery: '5m', giveUpAfter: '24h' }, '1h'));
    await phaseIs(handle, 'awaiting-fix');
    await handle.signal(messages.fixCommitted, { commit: FIX });
    const blocked = await phaseIs(handle, 'blocked-infra');
    assert.match(blocked.reason!, /failed on infrastructure: .*Database initialization failed/);
    // Time stands still until the test moves it: an hour and a bit, twelve rechecks and a reminder.
    await env().sleep('61m');
    const waited = await eventually(async () => {
      const st = await handle.query(messages.status);
      return st.cycles[0].infra!.rechecks >= 12 && s.webhooks.some((h) => /^Reminder: /.test(String(h.text))) ? st : undefined;
    }, 'twelve rechecks and a reminder');
    assert.equal(waited.phase, 'blocked-infra');

    s.databaseDown = false;
    const result: LoopResult = await handle.result(); // time runs on to the next recheck
    assert.equal(result.phase, 'passed');
    const final = await handle.query(messages.status);
    assert.equal(final.cycles[0].infra!.restoredBy, 'recheck');
    assert.equal(final.cycles[0].infra!.rechecks, 13);
    assert.equal(s.standIn.revisionsOf(SERVICE).length, 3, 'the original, the one that failed to start, and a fresh one');
    const infraNotes = s.webhooks.filter((h) => h.audience === 'infra-team').map((h) => String(h.text));
    assert.match(infraNotes[0], /staging infrastructure is down/);
    assert.match(infraNotes[1], /^Reminder: .*still blocked on infrastructure/, 'the infrastructure team was reminded');
    assert.equal(infraNotes.length, 2, 'reminded once in the hour');
  });
});

describe('a worker killed during a Cloud Run deploy', function () {
  it('does not deploy twice', async function () {
    const env = await testEnv();
    // Operations finish only after many polls: the first worker dies while it waits on one.
    const s = await startStaging(1000);
    const taskQueue = `tdl-kill-deploy-${randomUUID()}`;
    const reportsDir = tempDir('tdl-reports-');
    let worker = spawnWorker(env, taskQueue, reportsDir);
    try {
      const handle = await env.client.workflow.start(messages.WORKFLOW_TYPE, {
        taskQueue,
        workflowId: `kill-deploy-${randomUUID()}`,
        args: [loopInput(s, {})],
      });
      await phaseIs(handle, 'awaiting-fix');
      const updatesBefore = s.standIn.calls.UpdateService;
      await handle.signal(messages.fixCommitted, { commit: FIX });
      await eventually(async () => (s.standIn.calls.UpdateService > updatesBefore ? true : undefined), 'the deploy to start');
      await killHard(worker);
      s.standIn.completePendingOperations(); // Cloud Run carries on without us
      worker = spawnWorker(env, taskQueue, reportsDir);
      const result: LoopResult = await handle.result();
      assert.equal(result.phase, 'passed');
      assert.equal(s.standIn.revisionsOf(SERVICE).length, 2, 'one revision for the fix, not two');
    } finally {
      worker.kill('SIGTERM');
      await s.close();
    }
  });
});
