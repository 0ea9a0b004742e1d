/**
 * Metrics: a `tdl worker` with TDL_METRICS_PORT serves Prometheus metrics, the SDK's own and the
 * loop's, scraped over HTTP after a loop has run through a fix and a deploy.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as messages from '../src/workflows/messages';
import { deploys, loopInput, stagingDir } from './support/loop-input';
import { eventually, freePort, killHard, phaseIs, spawnWorker, tempDir, testEnv } from './support/temporal';

/** The value of one sample line, e.g. `tdl_loop_phase_entered{phase="passed",...} 1`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('metrics', function () {
  it("a worker with TDL_METRICS_PORT serves the SDK's metrics and the loop's over HTTP", async function () {
    const env = await testEnv();
    const port = await freePort();
    const taskQueue = `tdl-metrics-${randomUUID()}`;
    const worker = spawnWorker(env, taskQueue, tempDir('tdl-reports-'), { TDL_METRICS_PORT: String(port) });
    try {
      const staging = stagingDir();
      const handle = await env.client.workflow.start(messages.WORKFLOW_TYPE, { taskQueue, workflowId: `metrics-${randomUUID()}`, args: [loopInput(staging)] });
      await phaseIs(handle, 'awaiting-fix');
      await handle.signal(messages.fixCommitted, { commit: 'abc1234' });
      assert.equal((await handle.result()).phase, 'passed');
      assert.deepEqual(deploys(staging), ['abc1234']);

      const url = `http://127.0.0.1:${port}/metrics`;
      const text = await eventually(async () => {
        const body = await (await fetch(url)).text();
        return sample(body, 'tdl_loop_phase_entered', { phase: 'passed' }) ? body : undefined;
      }, 'the loop metrics on the scrape');
      // The SDK's own worker metrics, under Temporal's usual prefix.
      assert.ok(sample(text, 'temporal_workflow_completed', { taskQueue }) ?? sample(text, 'temporal_workflow_task_execution_latency_count'), 'SDK metrics are served');
      // The loop's: phases entered (one deploy), time per phase (the wait for the fix), cycle durations.
      assert.equal(sample(text, 'tdl_loop_phase_entered', { phase: 'deploying', taskQueue }), 1);
      assert.equal(sample(text, 'tdl_loop_phase_entered', { phase: 'testing', taskQueue }), 2);
      assert.equal(sample(text, 'tdl_loop_phase_duration_count', { phase: 'awaiting-fix' }), 1);
      assert.equal(sample(text, 'tdl_loop_cycle_duration_count'), 2);
      // Buckets for waits of seconds to days, not the SDK's default (up to 10 s).
      assert.equal(sample(text, 'tdl_loop_phase_duration_bucket', { phase: 'awaiting-fix', le: '604800000' }), 1);
    } finally {
      await killHard(worker);
    }
  });
});
