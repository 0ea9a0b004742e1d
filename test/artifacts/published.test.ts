/**
 * Reports published to Google Cloud Storage (the real client against the stand-in of its JSON API):
 * a loop's every file reaches the bucket, the notification carries the report read back from it,
 * and `tdl report ID --cycle N` (a real process) fetches a cycle's report after the worker's own
 * folder is gone.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startGcsStandIn, type GcsStandIn } from '../../examples/stand-ins/gcs';
import type { LoopWorker } from '../../src/host-worker';
import { createLoopWorker } from '../../src/worker';
import type { LoopResult } from '../../src/workflows/loop';
import * as messages from '../../src/workflows/messages';
import { deploys, loopInput, stagingDir } from '../support/loop-input';
import { eventually, phaseIs, TDL, tempDir, testEnv } from '../support/temporal';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook';

const tdl = (env: TestWorkflowEnvironment, extra: Record<string, string>, ...args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    execFile(process.execPath, [TDL, ...args], { env: { ...process.env, TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: 'default', ...extra } }, (err, stdout, stderr) =>
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });

describe('reports published to Google Cloud Storage', function () {
  let env: TestWorkflowEnvironment;
  let gcs: GcsStandIn;
  let hook: WebhookReceiver;
  let worker: LoopWorker;
  let running: Promise<void>;
  let reportsDir: string;
  const taskQueue = `tdl-gcs-${randomUUID()}`;

  before(async function () {
    env = await testEnv();
    gcs = await startGcsStandIn(['tdl-reports']);
    hook = await startWebhookReceiver();
    reportsDir = tempDir('tdl-reports-');
    worker = await createLoopWorker({ connection: env.nativeConnection, taskQueue, reportsDir, artifacts: { artifacts: 'gs://tdl-reports/ci', endpoint: gcs.endpoint } });
    running = worker.run();
  });
  after(async function () {
    worker.shutdown();
    await running;
    await hook.close();
    await gcs.close();
  });

  it('every step publishes to the bucket; the hand-off and `tdl report --cycle` read it from there', async function () {
    const staging = stagingDir();
    const workflowId = `gcs-${randomUUID()}`;
    const handle = await env.client.workflow.start(messages.WORKFLOW_TYPE, {
      taskQueue,
      workflowId,
      args: [loopInput(staging, { handoff: { webhookUrl: hook.url } })],
    });
    const waiting = await phaseIs(handle, 'awaiting-fix');
    const base = `gs://tdl-reports/ci/${workflowId}/cycle-1`;
    assert.equal(waiting.cycles[0].reportPath, `${base}/report.md`);
    assert.equal(waiting.cycles[0].outputPath, `${base}/suite-output.log`);
    const bucket = gcs.buckets.get('tdl-reports')!;
    for (const name of ['report.md', 'diagnosis.json', 'suite-output.log']) assert.ok(bucket.has(`ci/${workflowId}/cycle-1/${name}`), name);
    const report = bucket.get(`ci/${workflowId}/cycle-1/report.md`)!.content.toString();
    assert.match(report, /24/);
    const sent = await eventually(async () => hook.received.find((m) => m.audience === 'fix-team'), 'the hand-off');
    assert.equal(sent.report, report, 'the notification carries the report read back from the bucket');

    // The worker's folder is gone (a container that came and went): the report is still there.
    rmSync(reportsDir, { recursive: true, force: true });
    const settings = { TDL_ARTIFACTS_ENDPOINT: gcs.endpoint };
    const got = await tdl(env, settings, 'report', workflowId, '--cycle', '1');
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout, `${report}\n`);
    assert.match(got.stderr, new RegExp(`https://storage\\.cloud\\.google\\.com/tdl-reports/ci/${workflowId}/cycle-1/report\\.md`));
    const none = await tdl(env, settings, 'report', workflowId, '--cycle', '7');
    assert.equal(none.code, 1);
    assert.match(none.stderr, /has had 1 cycle\(s\), not 7/);
    const bad = await tdl(env, settings, 'report', workflowId, '--cycle', 'two');
    assert.equal(bad.code, 2);

    await handle.signal(messages.fixCommitted, { commit: 'c0ffee1' });
    const result = (await handle.result()) as LoopResult;
    assert.equal(result.phase, 'passed');
    assert.deepEqual(deploys(staging), ['c0ffee1']);
    assert.equal(result.reportPath, `gs://tdl-reports/ci/${workflowId}/loop-report.md`);
    assert.equal(bucket.get(`ci/${workflowId}/loop-report.md`)!.content.toString(), await handle.query(messages.report));
    assert.ok(bucket.has(`ci/${workflowId}/cycle-1/deploy.log`), 'the deploy log is published too');
    const second = await tdl(env, settings, 'report', workflowId, '--cycle', '2');
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /passed/i);
  });
});
