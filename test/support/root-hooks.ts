/** Mocha root hooks: quiet Temporal's runtime logs, and stop the shared dev server at the end. */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { stopTestEnv } from './temporal';

Runtime.install({ logger: new DefaultLogger('ERROR') });

export const mochaHooks = {
  async afterAll() {
    await stopTestEnv();
  },
};
