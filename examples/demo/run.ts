/**
 * The demo (`npm run demo`): the seed's whole story, end to end, on this machine. Starts the example
 * staging service (it wants a Bearer JWT and the `jwt-auth` subprotocol), the Cloud Run and Cloud
 * Logging stand-ins that ship in examples/stand-ins, and a loop whose suite fails 24 of 25 tests
 * without the subprotocol. The demo fix team adds it and reports the fix; the loop deploys it through
 * the real @google-cloud/run client; the new revision's migration breaks the database, staging
 * answers 503, the loop reads the revision's logs, rolls back and waits for infrastructure; the demo
 * infrastructure team repairs the database and sends infraRestored; the loop deploys the pending fix
 * again (same revision), verifies, and the suite passes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { connectClient, type ConnectionSettings } from '../../src/connection';
import type { Io } from '../../src/cli/io';
import { formatStatus } from '../../src/cli/format';
import { loopStartSearchAttributes } from '../../src/search-attributes-admin';
import * as messages from '../../src/workflows/messages';
import { FINAL_PHASES, type LoopStatus } from '../../src/workflows/state';
import { startStagingService } from '../staging/service';
import { startCloudRunStandIn } from '../stand-ins/cloud-run';
import { startCloudLoggingStandIn } from '../stand-ins/cloud-logging';

const node = JSON.stringify(process.execPath);
const script = (name: string) => `${node} ${JSON.stringify(resolve(__dirname, name))}`;

const PROJECT = 'demo';
const SERVICE = 'demo-backend';
const IMAGE = 'us-docker.pkg.dev/demo/apps/backend';

export interface DemoOptions {
  /** The Web UI's base URL when the demo runs on the embedded dev server. */
  webUi: string | null;
}

/** One line per step the loop took since the last look, from its status. */
function newSteps(s: LoopStatus, told: Set<string>): string[] {
  const lines: string[] = [];
  const say = (key: string, line: string) => {
    if (!told.has(key)) lines.push(line);
    told.add(key);
  };
  for (const c of s.cycles) {
    const n = c.cycle;
    if (c.tests) say(`${n}:tests`, `cycle ${n}: ${c.tests.passed}/${c.tests.total} passed${c.rootCauses.length ? `; root cause: ${c.rootCauses[0].count} × ${c.rootCauses[0].category}` : ''}`);
    if (c.fix) say(`${n}:fix`, `cycle ${n}: fix ${c.fix.commit} received from ${c.fix.author ?? 'the fix team'}`);
    if (c.infra?.restoredAt) say(`${n}:restored`, `cycle ${n}: infrastructure restored (${c.infra.restoredBy === 'signal' ? 'infraRestored' : 'health recheck'})`);
    // After the block, the deploy record is the redeploy's once it is past deploying.
    const again = c.infra?.restoredAt ? ' again' : '';
    const deployed = c.deploy?.revision && !(again && n === s.cycle && ['blocked-infra', 'deploying'].includes(s.phase));
    if (deployed) say(`${n}:deploy${again}`, `cycle ${n}: deployed ${c.deploy!.commit}${again} to Cloud Run: revision ${c.deploy!.revision}`);
    if (c.verify && !c.verify.healthy) say(`${n}:unhealthy`, `cycle ${n}: staging unhealthy: ${c.verify.evidence[c.verify.evidence.length - 1]}`);
    if (c.serviceLogs?.decidingEntry) say(`${n}:logs`, `cycle ${n}: the revision's logs (${c.serviceLogs.category}): ${c.serviceLogs.decidingEntry}`);
    if (c.rollback) say(`${n}:rollback`, `cycle ${n}: rolled back to ${c.rollback.revision} (staging ${c.rollback.healthyAfter ? 'healthy' : 'still unhealthy'})`);
    if (c.infra) say(`${n}:blocked`, `cycle ${n}: blocked on infrastructure; the demo infra team is told`);
    if (c.verify?.healthy) say(`${n}:verified`, `cycle ${n}: staging verified healthy`);
  }
  return lines;
}

export async function runDemo(io: Io, settings: ConnectionSettings, taskQueue: string, stop: AbortSignal, opts: DemoOptions): Promise<number> {
  const secret = randomBytes(32).toString('hex');
  const adminKey = randomBytes(16).toString('hex');
  const cloudRun = await startCloudRunStandIn({ pollsToComplete: 1 });
  const logging = await startCloudLoggingStandIn();
  const { name: serviceName, revision: firstRevision } = cloudRun.seedService({ project: PROJECT, service: SERVICE, image: `${IMAGE}:v1` });
  // The revision serving now writes the service's logs.
  let serving = firstRevision;
  const staging = await startStagingService({
    port: 0,
    jwtSecret: secret,
    requireSubprotocol: true,
    adminKey,
    log: (severity, text) => logging.write({ project: PROJECT, service: SERVICE, revision: serving, severity, text }),
  });
  // The fix's revision runs a migration that breaks the database, the first time it serves.
  let migrated = false;
  cloudRun.onTrafficChange((_service, revision) => {
    serving = revision ?? serving;
    const image = [...cloudRun.state.revisions.values()].find((r) => r.name === `${serviceName}/revisions/${revision}`)?.containers?.[0]?.image ?? '';
    if (!migrated && !image.endsWith(':v1')) {
      migrated = true;
      staging.breakDatabase();
    }
  });

  const workDir = resolve('.data', 'demo');
  mkdirSync(workDir, { recursive: true });
  const clientConfig = join(workDir, 'client.json');
  writeFileSync(clientConfig, JSON.stringify({ subprotocols: [] }, null, 2));
  // Secrets live in the worker's environment; the loop's input only names the variable.
  process.env.E2E_JWT = await new SignJWT({ email: 'e2e@staging.example', permissions: ['chat'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('e2e-user')
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(Buffer.from(secret));
  Object.assign(process.env, { CLIENT_CONFIG: clientConfig, STAGING_URL: staging.url, DEMO_ADMIN_KEY: adminKey });
  // The teams' `tdl fix` / `tdl infra-restored` must reach this server, whichever port it is on.
  process.env.TEMPORAL_ADDRESS = settings.address;
  process.env.TEMPORAL_NAMESPACE = settings.namespace;

  const input = {
    name: 'demo-staging',
    suite: { command: script('e2e-suite.js'), env: { STAGING_URL: staging.url }, timeout: '5m' },
    deploy: {
      kind: 'cloud-run',
      project: PROJECT,
      region: 'us-central1',
      service: SERVICE,
      image: `${IMAGE}:{commit}`,
      endpoint: cloudRun.endpoint,
      logsEndpoint: logging.endpoint,
      timeout: '1m',
    },
    verify: { url: `${staging.url}/health`, expectStatus: 200, timeout: '4s', interval: '1s' },
    probes: { websocket: { url: staging.wsUrl, subprotocols: ['jwt-auth'], tokenEnv: 'E2E_JWT' }, jwt: { tokenEnv: 'E2E_JWT' } },
    handoff: { command: `${script('fix-team.js')} && ${script('infra-team.js')}`, remindEvery: '1m' },
    infra: { recheckEvery: '1m', giveUpAfter: '10m' },
    maxCycles: 3,
  };
  const client = await connectClient(settings);
  try {
    const handle = await client.workflow.start(messages.WORKFLOW_TYPE, {
      taskQueue,
      workflowId: `demo-staging-${Date.now()}`,
      args: [input],
      staticSummary: "test-deploy-loop demo: the seed's whole story",
      typedSearchAttributes: await loopStartSearchAttributes(client, input.name),
    });
    io.out(`demo loop started: ${handle.workflowId} (tdl status ${handle.workflowId})`);
    if (opts.webUi) io.out(`watch it in the Web UI: ${opts.webUi}/namespaces/${settings.namespace}/workflows/${handle.workflowId}`);
    let seen: string | null = null;
    const told = new Set<string>();
    while (!stop.aborted) {
      const s = await handle.query(messages.status);
      for (const line of newSteps(s, told)) io.out(`  • ${line}`);
      const key = `${s.cycle}:${s.phase}`;
      if (key !== seen) {
        io.out(`\n${formatStatus(handle.workflowId, s)}`);
        seen = key;
      }
      if (FINAL_PHASES.includes(s.phase)) {
        io.out(`\n${await handle.query(messages.report)}`);
        io.out(`Cloud Run revisions of ${SERVICE}: ${cloudRun.revisionsOf(serviceName).join(', ')}; serving ${cloudRun.servingRevision(serviceName)}`);
        return s.phase === 'passed' ? 0 : 1;
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    io.out(`demo stopped; the loop goes on when a worker serves "${taskQueue}" again (tdl dev)`);
    return 1;
  } finally {
    await client.connection.close();
    await staging.close();
    await logging.close();
    await cloudRun.close();
  }
}
