/** `tdl dev`'s embedded server registers the loop's search attributes, also when it restarts on its saved state. */
import assert from 'node:assert/strict';
import { Connection } from '@temporalio/client';
import { startDevServer } from '../src/devserver';
import { hasLoopSearchAttributes } from '../src/search-attributes-admin';
import { freePort, tempDir } from './support/temporal';

describe('the embedded dev server', function () {
  it("has the loop's search attributes, on a fresh state file and on a restart from it", async function () {
    const dataDir = tempDir('tdl-data-');
    for (const run of ['fresh', 'restart']) {
      const server = await startDevServer({ dataDir, port: await freePort(), uiPort: await freePort() });
      try {
        const connection = await Connection.connect({ address: server.address });
        try {
          assert.equal(await hasLoopSearchAttributes(connection, 'default'), true, run);
        } finally {
          await connection.close();
        }
      } finally {
        await server.stop();
      }
    }
  });
});
