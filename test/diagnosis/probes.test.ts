import { strict as assert } from 'node:assert';
import { SignJWT } from 'jose';
import { diagnose } from '../../src/diagnosis';
import { runProbes } from '../../src/diagnosis/probes';
import type { ProbesConfig } from '../../src/config/types';
import { startStagingService, type StagingService } from '../../examples/staging/service';
import { fixture } from './helpers';

const SECRET = 'staging-signing-secret-for-tests';

async function sign(claims: Record<string, unknown>, expiresIn: string | number): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: 'staging-1' })
    .setIssuedAt()
    .setIssuer('netra-auth-service')
    .setAudience('netra-backend')
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(SECRET));
}

describe('live probes against the seed-like staging service', () => {
  let service: StagingService;
  let token: string;

  const config = (): ProbesConfig => ({
    websocket: { url: service.wsUrl, subprotocols: ['jwt-auth'], tokenEnv: 'PROBE_TEST_JWT' },
    jwt: { tokenEnv: 'PROBE_TEST_JWT', jwksUrl: null, issuer: 'netra-auth-service', audience: 'netra-backend' },
    http: { url: `${service.url}/health` },
  });

  beforeEach(async () => {
    service = await startStagingService({ port: 0, jwtSecret: SECRET });
    token = await sign({ sub: 'e2e-user', email: 'e2e@staging.example' }, '1h');
  });
  afterEach(() => service.close());

  it('token valid, handshake without jwt-auth or without Bearer rejected, with both accepted', async () => {
    const p = await runProbes(config(), { PROBE_TEST_JWT: token }, { timeoutMs: 3000 });
    assert.equal(p.jwt?.valid, true);
    assert.equal(p.jwt?.alg, 'HS256');
    assert.equal(p.jwt?.kid, 'staging-1');
    assert.deepEqual(p.jwt?.fingerprint, { length: token.length, dots: 2, prefix: token.slice(0, 12), suffix: token.slice(-8), bearer: false });
    const [configured, noProtocol, noBearer] = p.websocket!.attempts;
    assert.deepEqual([configured.accepted, configured.status, configured.protocol], [true, 101, 'jwt-auth']);
    assert.match(configured.firstMessage!, /"type":"welcome"/);
    assert.deepEqual([noProtocol.accepted, noProtocol.closeCode, noProtocol.closeReason], [false, 1008, 'Token validation failed']);
    assert.match(noProtocol.firstMessage!, /VALIDATION_FAILED.*Token validation failed \| Debug: \d+ chars, 2 dots.*\[MISSING\]/);
    assert.deepEqual([noBearer.accepted, noBearer.closeCode], [false, 1008]);
    assert.match(noBearer.firstMessage!, /no Bearer prefix/);
    assert.deepEqual([p.http?.status, p.http?.healthy], [200, true]);
    assert.ok(!JSON.stringify(p).includes(token), 'the token only as its fingerprint');
  });

  it('turns the seed\'s clusters into "missing subprotocol in the client"', async () => {
    const probes = await runProbes(config(), { PROBE_TEST_JWT: token }, { timeoutMs: 3000 });
    const d = await diagnose([fixture('seed/staging-websocket-auth.xml')], { probes });
    assert.equal(d.verdict, 'code');
    const [c] = d.clusters;
    assert.equal(c.category, 'websocket-handshake');
    assert.equal(c.decidedBy, 'probes');
    assert.match(c.hypothesis, /^token valid \(HS256, expires .*\) but WebSocket handshake without `jwt-auth` subprotocol rejected, with it accepted: the client must send Sec-WebSocket-Protocol: jwt-auth/);
    assert.ok(c.evidence.some((e) => /no subprotocol, Authorization: Bearer <token>: closed 1008/.test(e)));
  });

  it('an expired token is an auth problem, whatever the handshake', async () => {
    const expired = await sign({ sub: 'e2e-user' }, Math.floor(Date.now() / 1000) - 7200);
    const probes = await runProbes(config(), { PROBE_TEST_JWT: expired }, { timeoutMs: 3000 });
    assert.equal(probes.jwt?.valid, false);
    assert.match(probes.jwt!.problems[0], /^expired 2 h ago/);
    assert.equal(probes.websocket!.attempts[0].accepted, false);
    const d = await diagnose([fixture('seed/staging-websocket-auth.xml')], { probes });
    assert.equal(d.clusters[0].category, 'auth');
    assert.match(d.clusters[0].hypothesis, /token is not valid: expired 2 h ago.*PROBE_TEST_JWT/);
  });

  it('health 503 with the database error makes every cluster infrastructure', async () => {
    service.setHealth(503);
    const probes = await runProbes(config(), { PROBE_TEST_JWT: token }, { timeoutMs: 3000 });
    assert.deepEqual([probes.http?.status, probes.http?.healthy], [503, false]);
    assert.match(probes.http!.body, /Database initialization failed/);
    assert.equal(probes.websocket!.attempts[0].status, 503, 'the upgrade is refused with 503');
    const d = await diagnose([fixture('seed/staging-websocket-auth.xml')], { probes });
    assert.equal(d.verdict, 'infrastructure');
    assert.deepEqual(d.clusters.map((c) => c.category), ['database']);
    assert.ok(d.clusters[0].evidence.some((e) => e.startsWith(`health probe: GET ${service.url}/health -> 503`)));
  });

  it('a stopped service: connection refused is infrastructure, bounded in time', async () => {
    const cfg = config();
    await service.close();
    const started = Date.now();
    const probes = await runProbes(cfg, { PROBE_TEST_JWT: token }, { timeoutMs: 2000 });
    assert.ok(Date.now() - started < 5000);
    assert.equal(probes.http?.error, 'ECONNREFUSED');
    assert.match(probes.websocket!.attempts[0].error!, /ECONNREFUSED/);
    const d = await diagnose([fixture('seed/staging-websocket-auth.xml')], { probes });
    assert.equal(d.verdict, 'infrastructure');
    service = await startStagingService({ port: 0, jwtSecret: SECRET });
  });

  it('a missing token variable is reported by name', async () => {
    const p = await runProbes(config(), {}, { timeoutMs: 2000 });
    assert.deepEqual(p.jwt?.problems, ['PROBE_TEST_JWT is not set on the worker']);
    assert.equal(p.websocket?.attempts[0].authHeader, 'none');
  });
});
