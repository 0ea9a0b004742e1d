/**
 * docker-compose.yml, for users with Docker: there is no Docker engine here, so docker-compose
 * checks it (`config` parses, interpolates and validates it offline) and we check what it says.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { load } from 'js-yaml';

const ROOT = resolve(__dirname, '..', '..');

interface Service {
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

describe('docker-compose.yml', function () {
  it('is valid, and runs a dev server with the Web UI and a worker pointed at it', function () {
    const rendered = execFileSync('docker-compose', ['-f', resolve(ROOT, 'docker-compose.yml'), 'config'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, E2E_JWT: '' } });
    const { services, volumes } = load(rendered) as { services: Record<string, Service>; volumes: Record<string, unknown> };
    const { temporal, worker } = services;

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
    assert.match(dockerfile, /ENTRYPOINT \["node", "\/app\/bin\/tdl\.js"\]/);
    // Loops started by anyone run their commands in this container: never as root.
    const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
    assert.equal(users.at(-1), 'node', 'the last USER is the unprivileged node user');
    assert.match(dockerfile, /chown node:node \/reports/, 'the reports volume is writable by that user');
    const ignored = readFileSync(resolve(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const local of ['node_modules', 'dist', '.tools', '.data']) assert.ok(ignored.includes(local), `${local} stays out of the image`);
  });
});
