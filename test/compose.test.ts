/**
 * docker-compose.yml, for users with Docker: there is no Docker engine here, so docker-compose
 * checks it (`config` parses, interpolates and validates it offline) and we check what it says.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { load } from 'js-yaml';
import { ensureTemporalCli } from '../src/devserver/temporal-cli';
import { devServerSearchAttributeArgs } from '../src/search-attributes';
import { imageRuntime } from '../bench/worker-process';
import { THREAD_HEAP_MB } from '../src/activities/diagnose';

const ROOT = resolve(__dirname, '..', '..');

interface Service {
  profiles?: string[];
  restart?: string;
  image?: string;
  build?: { context: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: { target: number; published: number | string; host_ip?: string }[] | string[];
  volumes?: unknown[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  user?: string;
  security_opt?: string[];
}

/** `docker-compose config`: the file parsed, interpolated and validated offline. */
function rendered(env: Record<string, string> = {}) {
  const text = execFileSync('docker-compose', ['-f', resolve(ROOT, 'docker-compose.yml'), 'config'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, E2E_JWT: '', ...env } });
  return load(text) as { services: Record<string, Service>; volumes: Record<string, unknown> };
}

describe('docker-compose.yml', function () {
  it('is valid, and runs a dev server with the Web UI and a worker pointed at it', function () {
    const { services, volumes } = rendered();
    const { temporal, worker } = services;
    assert.equal(temporal.profiles, undefined, 'the dev server is the default');
    assert.deepEqual(temporal.command!.slice(-8), devServerSearchAttributeArgs(), "it registers the loop's search attributes, as tdl dev does");

    assert.match(temporal.image!, /^temporalio\/temporal:1\.9\.1$/, 'the same Temporal CLI version the project pins');
    assert.deepEqual(temporal.command!.slice(0, 2), ['server', 'start-dev']);
    assert.ok(temporal.command!.includes('--db-filename'), 'loops survive a restart of the server container');
    assert.match(JSON.stringify(temporal.ports), /8233/, 'the Web UI is published');
    assert.ok(temporal.healthcheck!.test.includes('health'));

    assert.equal(worker.build!.context, ROOT);
    assert.deepEqual(worker.command, ['worker']);
    assert.equal(worker.environment!.TEMPORAL_ADDRESS, 'temporal:7233');
    assert.equal(worker.environment!.TDL_REPORTS_DIR, '/reports');
    assert.equal(worker.depends_on!.temporal.condition, 'service_healthy');
    assert.equal(worker.user, undefined, "the worker keeps the image's unprivileged user");
    assert.deepEqual(worker.security_opt, ['no-new-privileges:true']);
    assert.ok('reports' in volumes && 'temporal-data' in volumes);
  });

  it('builds the worker image from the package as the README runs it', function () {
    const dockerfile = readFileSync(resolve(ROOT, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, /^FROM node:20/m);
    assert.match(dockerfile, /RUN npm ci/);
    assert.match(dockerfile, /ENTRYPOINT \["node", ("--[\w-]+=\d+", )*"\/app\/bin\/tdl\.js"\]/);
    // The worker's runtime for many loops; bench/many-loops reads the flags from here.
    // V8's process-wide limit overrides the diagnosis thread's own: they must agree.
    assert.deepEqual(imageRuntime().execArgv, [`--max-old-space-size=${THREAD_HEAP_MB}`, '--max-semi-space-size=2']);
    assert.match(dockerfile, /apt-get install -y --no-install-recommends libjemalloc2/);
    assert.match(dockerfile, /^ENV LD_PRELOAD=libjemalloc\.so\.2$/m);
    assert.match(dockerfile, /^ENV MALLOC_CONF=narenas:2,/m);
    // Loops started by anyone run their commands in this container: never as root.
    const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
    assert.equal(users.at(-1), 'node', 'the last USER is the unprivileged node user');
    assert.match(dockerfile, /chown node:node \/reports/, 'the reports volume is writable by that user');
    const ignored = readFileSync(resolve(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const local of ['node_modules', 'dist', '.tools', '.data']) assert.ok(ignored.includes(local), `${local} stays out of the image`);
  });

  it('has a production profile: Temporal on PostgreSQL, the Web UI, search attributes set up, and two workers', function () {
    const { services, volumes } = rendered({ POSTGRES_PASSWORD: 'from-dotenv', TDL_ENCRYPTION_KEY: 'k1:abc' });
    // The versions the dev server embeds: "temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)".
    const embedded = /Server (\S+), UI (\S+)\)/.exec(execFileSync(ensureTemporalCli(), ['--version'], { encoding: 'utf8' }));
    assert.ok(embedded, 'temporal --version names its server and UI versions');
    const [, TEMPORAL_SERVER_VERSION, TEMPORAL_UI_VERSION] = embedded;
    const production = Object.entries(services).filter(([, s]) => s.profiles?.includes('production')).map(([name]) => name).sort();
    assert.deepEqual(production, ['postgresql', 'tdl-setup', 'temporal-namespace', 'temporal-schema', 'temporal-server', 'temporal-ui', 'worker-1', 'worker-2']);
    const { postgresql, 'temporal-schema': schema, 'temporal-server': server, 'temporal-namespace': namespace, 'temporal-ui': ui, 'tdl-setup': setup } = services;

    // Temporal's own layout: admin-tools jobs set up the schema, then the namespace, around the server image.
    assert.match(postgresql.image!, /^postgres:\d+/);
    assert.equal(postgresql.environment!.POSTGRES_PASSWORD, 'from-dotenv');
    assert.equal(schema.image, `temporalio/admin-tools:${TEMPORAL_SERVER_VERSION}`);
    assert.equal(schema.environment!.SQL_HOST, 'postgresql');
    assert.equal(schema.environment!.SQL_PASSWORD, 'from-dotenv');
    assert.match(schema.command!.join(' '), /update-schema -d \/etc\/temporal\/schema\/postgresql\/v12\//);
    assert.equal(schema.depends_on!.postgresql.condition, 'service_healthy');
    assert.equal(server.image, `temporalio/server:${TEMPORAL_SERVER_VERSION}`, 'the server version the dev server (Temporal CLI) embeds');
    assert.equal(server.environment!.DB, 'postgres12');
    assert.equal(server.environment!.POSTGRES_SEEDS, 'postgresql');
    assert.equal(server.environment!.POSTGRES_PWD, 'from-dotenv');
    assert.equal(server.depends_on!['temporal-schema'].condition, 'service_completed_successfully');
    assert.equal(namespace.image, schema.image);
    assert.match(namespace.command!.join(' '), /namespace create -n default/);
    assert.equal(namespace.depends_on!['temporal-server'].condition, 'service_healthy');
    assert.equal(setup.depends_on!['temporal-namespace'].condition, 'service_completed_successfully');
    for (const name of production) assert.doesNotMatch(services[name].image ?? '', /auto-setup/, 'auto-setup is deprecated upstream');
    assert.equal(postgresql.ports, undefined, 'the database stays inside the compose network');
    assert.equal(ui.image, `temporalio/ui:${TEMPORAL_UI_VERSION}`, 'the UI version the dev server embeds');
    assert.equal(ui.environment!.TEMPORAL_ADDRESS, 'temporal-server:7233');

    assert.deepEqual(setup.command, ['setup']);
    assert.equal(setup.restart, 'no');
    for (const name of ['worker-1', 'worker-2']) {
      const w = services[name];
      assert.deepEqual(w.command, ['worker']);
      assert.equal(w.environment!.TEMPORAL_ADDRESS, 'temporal-server:7233');
      assert.equal(w.environment!.TDL_ENCRYPTION_KEY, 'k1:abc', 'encryption keys come from .env');
      assert.equal(w.environment!.TDL_METRICS_PORT, '9464');
      assert.equal(w.depends_on!['tdl-setup'].condition, 'service_completed_successfully', 'workers start once the search attributes exist');
      assert.deepEqual(w.security_opt, ['no-new-privileges:true']);
      assert.equal(w.user, undefined);
    }
    assert.notDeepEqual(services['worker-1'].ports, services['worker-2'].ports, 'each worker has its own metrics port on the host');
    assert.ok('postgresql-data' in volumes);
    // Every published port is on loopback only.
    for (const [name, s] of Object.entries(services)) {
      for (const p of (s.ports ?? []) as string[]) assert.match(String(p), /^127\.0\.0\.1:/, `${name} publishes ${p} beyond loopback`);
    }
  });
});
