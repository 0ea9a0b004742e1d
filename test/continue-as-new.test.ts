/**
 * A long loop continues as new when the server suggests it, carrying its summary, so `status`
 * stays complete across runs. The server here suggests it after a few dozen events.
 */
import assert from 'node:assert/strict';
import * as messages from '../src/workflows/messages';
import type { LoopResult } from '../src/workflows/loop';
import { deploys, loopInput, stagingDir } from './support/loop-input';
import { eventually, startTestServer, workerPerTest } from './support/temporal';

describe('continue-as-new', function () {
  const { start, env } = workerPerTest(() => startTestServer(['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=30']));

  it('carries every cycle, and a pending fix, into the next run', async function () {
    const staging = stagingDir();
    const handle = await start(loopInput(staging, { maxCycles: 10 }));
    for (let cycle = 1; cycle <= 3; cycle++) {
      await eventually(async () => {
        const s = await handle.query(messages.status);
        return s.cycle === cycle && s.phase === 'awaiting-fix' ? s : undefined;
      }, `cycle ${cycle} awaiting a fix`);
      if (cycle < 3) await handle.signal(messages.retest, { reason: `round ${cycle}` });
    }
    await handle.signal(messages.fixCommitted, { commit: 'c0ffee' });
    const result: LoopResult = await handle.result();
    assert.equal(result.phase, 'passed');
    assert.equal(result.cycles, 4);
    assert.deepEqual(deploys(staging), ['c0ffee']);

    const runs: string[] = [];
    for await (const wf of env().client.workflow.list({ query: `WorkflowId = '${handle.workflowId}'` })) runs.push(wf.runId);
    assert.ok(runs.length >= 2, `continued as new (${runs.length} runs)`);
    const s = await handle.query(messages.status);
    assert.deepEqual(s.cycles.map((c) => c.cycle), [1, 2, 3, 4], 'the latest run knows every cycle');
    assert.match(s.cycles[0].outcome!, /round 1/);
    assert.equal(s.cycles[2].fix!.commit, 'c0ffee');
  });
});
