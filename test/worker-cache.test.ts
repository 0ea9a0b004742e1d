/**
 * A worker that keeps few loops in memory (`tdl worker --max-cached-loops`) and decides for few at
 * once (`--max-concurrent-workflow-tasks`): the loops it evicts wait in history only and are replayed
 * when they move, on the workflow sandbox whose shared modules (zod, the input's schemas) every loop
 * uses. More loops than the cache holds, moving together, must all end right.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createLoopWorker } from '../src/worker';
import * as messages from '../src/workflows/messages';
import { deploys, loopInput, stagingDir } from './support/loop-input';
import { runTdl } from './support/tdl-process';
import { phaseIs, tempDir, testEnv } from './support/temporal';

describe('a worker keeping 2 loops in memory, 2 workflow tasks at once', function () {
  it('serves 6 loops that wait for a fix at once: each is replayed when its fix comes, and passes with one deploy', async function () {
    const env = await testEnv();
    const taskQueue = `tdl-cache-${randomUUID()}`;
    const worker = await createLoopWorker({
      connection: env.nativeConnection,
      taskQueue,
      reportsDir: tempDir('tdl-reports-'),
      capacity: { maxCachedLoops: 2, maxConcurrentWorkflowTasks: 2 },
    });
    const running = worker.run();
    try {
      const loops = await Promise.all(
        Array.from({ length: 6 }, async (_, i) => {
          const staging = stagingDir();
          const handle = await env.client.workflow.start(messages.WORKFLOW_TYPE, {
            taskQueue,
            workflowId: `cache-${i}-${randomUUID()}`,
            args: [loopInput(staging, { name: `cache-${i}` })],
          });
          await phaseIs(handle, 'awaiting-fix');
          return { handle, staging };
        }),
      );
      for (const [i, { handle }] of loops.entries()) await handle.signal(messages.fixCommitted, { commit: `fix${i}abc` });
      for (const [i, { handle, staging }] of loops.entries()) {
        const result = (await handle.result()) as { phase: string; cycles: number };
        assert.deepEqual([result.phase, result.cycles], ['passed', 2], `loop ${i}`);
        assert.deepEqual(deploys(staging), [`fix${i}abc`], `loop ${i} deployed its fix once`);
      }
    } finally {
      worker.shutdown();
      await running;
    }
  });

  for (const flag of ['--max-cached-loops', '--max-concurrent-workflow-tasks']) {
    it(`\`tdl worker ${flag}\` takes a whole number of at least 2`, async function () {
      const r = await runTdl(await testEnv(), ['worker', flag, '1']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, new RegExp(`${flag}.*takes a whole number of at least 2`));
    });
  }
});
