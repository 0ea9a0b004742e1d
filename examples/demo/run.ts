/**
 * The demo (`npm run demo`): the seed's cycle, end to end, on this machine. Starts the example staging
 * service (it wants a Bearer JWT and the `jwt-auth` subprotocol), starts a loop whose suite fails
 * 24 of 25 tests without the subprotocol, lets the demo fix team add it and report the fix, and
 * follows the loop to `passed`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { connectClient, type ConnectionSettings } from '../../src/connection';
import type { Io } from '../../src/cli/io';
import { formatStatus } from '../../src/cli/format';
import * as messages from '../../src/workflows/messages';
import { FINAL_PHASES, type Phase } from '../../src/workflows/state';
import { startStagingService } from '../staging/service';

const node = JSON.stringify(process.execPath);
const script = (name: string) => `${node} ${JSON.stringify(resolve(__dirname, name))}`;

export async function runDemo(io: Io, settings: ConnectionSettings, taskQueue: string, stop: AbortSignal): Promise<number> {
  const secret = randomBytes(32).toString('hex');
  const staging = await startStagingService({ port: 0, jwtSecret: secret, requireSubprotocol: true });
  const workDir = resolve('.data', 'demo');
  mkdirSync(workDir, { recursive: true });
  const clientConfig = join(workDir, 'client.json');
  writeFileSync(clientConfig, JSON.stringify({ subprotocols: [] }, null, 2));
  // The token lives in the worker's environment; the loop's input only names the variable.
  process.env.E2E_JWT = await new SignJWT({ email: 'e2e@staging.example', permissions: ['chat'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('e2e-user')
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(Buffer.from(secret));
  process.env.CLIENT_CONFIG = clientConfig;
  // The fix team's `tdl fix` must reach this server, whichever port it is on.
  process.env.TEMPORAL_ADDRESS = settings.address;
  process.env.TEMPORAL_NAMESPACE = settings.namespace;

  const input = {
    name: 'demo-staging',
    suite: { command: script('e2e-suite.js'), env: { STAGING_URL: staging.url }, timeout: '5m' },
    deploy: { kind: 'command', command: 'echo "deploying $COMMIT to the demo staging service"', timeout: '1m' },
    verify: { url: `${staging.url}/health`, expectStatus: 200, timeout: '30s', interval: '1s' },
    probes: { websocket: { url: staging.wsUrl, subprotocols: ['jwt-auth'], tokenEnv: 'E2E_JWT' }, jwt: { tokenEnv: 'E2E_JWT' } },
    handoff: { command: script('fix-team.js'), remindEvery: '1m' },
    maxCycles: 3,
  };
  const client = await connectClient(settings);
  try {
    const handle = await client.workflow.start(messages.WORKFLOW_TYPE, {
      taskQueue,
      workflowId: `demo-staging-${Date.now()}`,
      args: [input],
      staticSummary: 'test-deploy-loop demo: the seed cycle',
    });
    io.out(`demo loop started: ${handle.workflowId} (see it in the Web UI, or: tdl status ${handle.workflowId})`);
    let seen: Phase | null = null;
    while (!stop.aborted) {
      const s = await handle.query(messages.status);
      if (s.phase !== seen) {
        io.out(`\n${formatStatus(handle.workflowId, s)}`);
        seen = s.phase;
      }
      if (FINAL_PHASES.includes(s.phase)) {
        io.out(`\n${await handle.query(messages.report)}`);
        return s.phase === 'passed' ? 0 : 1;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    io.out(`demo stopped; the loop goes on when a worker serves "${taskQueue}" again (tdl dev)`);
    return 1;
  } finally {
    await client.connection.close();
    await staging.close();
  }
}
