import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { diagnose } from '../../src/diagnosis';
import { runProbes } from '../../src/diagnosis/probes';
import { formatFingerprint, fingerprintToken } from '../../src/diagnosis/redact';
import { renderCycleReport } from '../../src/diagnosis/report';
import { startStagingService } from '../../examples/staging/service';
import { tdl } from './diagnose.test';
import { fixture, makeJwt } from './helpers';

describe('secrets never leave the engine', () => {
  const jwt = makeJwt({ sub: 'secret-user', exp: Math.floor(Date.now() / 1000) + 3600 });
  const bearer = 'opaqueBearerValue123456';
  const envValue = 'e2e-env-token-value-42';
  const encoded = Buffer.from(envValue).toString('base64');
  const secrets = [jwt, bearer, envValue, encoded];
  let dir: string;
  let file: string;

  before(() => {
    process.env.E2E_TOKEN = envValue;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tdl-secrets-'));
    file = path.join(dir, 'junit.xml');
    const failure = (name: string) => `<testcase classname="tests.e2e" name="${name}" time="1.25">
      <failure message="401 Unauthorized for Bearer ${bearer} token=${jwt}">Authorization: Bearer ${jwt}
E   AssertionError: login failed with E2E_TOKEN=${envValue} (basic ${encoded})</failure>
      <system-out>headers {"Authorization": "Bearer ${bearer}", "X-Env": "${encoded}"} token ${jwt}</system-out>
    </testcase>`;
    fs.writeFileSync(file, `<testsuite name="e2e">${failure('test_login')}${failure('test_refresh')}<testcase classname="tests.e2e" name="test_ok" time="0.5"/></testsuite>`);
  });
  after(() => {
    delete process.env.E2E_TOKEN;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function assertClean(text: string, where: string): void {
    for (const s of secrets) assert.ok(!text.includes(s), `${where} contains a secret: ${s.slice(0, 12)}…`);
  }

  it('not in the diagnosis, the report (with probes), or tdl diagnose --json; the fingerprint is there', async () => {
    const service = await startStagingService({ jwtSecret: 'another-secret-key' });
    try {
      const probes = await runProbes(
        {
          websocket: { url: service.wsUrl, subprotocols: ['jwt-auth'], tokenEnv: 'E2E_JWT' },
          jwt: { tokenEnv: 'E2E_JWT', jwksUrl: null, issuer: null, audience: null },
          http: { url: `${service.url}/health` },
        },
        { E2E_JWT: jwt },
        { timeoutMs: 2000 },
      );
      const d = await diagnose([file], { probes });
      assert.equal(d.clusters[0].category, 'auth');
      const report = renderCycleReport({
        loopName: 'netra-staging',
        cycle: 1,
        command: `E2E_TOKEN=${envValue} pytest tests/e2e --token ${jwt}`,
        startedAt: '2025-09-08T09:19:00Z',
        durationMs: 121_000,
        diagnosis: d,
        probes,
      });
      const { code, out } = await tdl('diagnose', '--junit', file, '--json');
      assert.equal(code, 0);
      const fp = formatFingerprint(fingerprintToken(jwt));
      for (const [where, text] of [['diagnosis', JSON.stringify(d)], ['probes', JSON.stringify(probes)], ['report', report], ['--json', out]]) {
        assertClean(text, where);
      }
      assert.ok(report.includes(fp), 'the report shows the token fingerprint');
      assert.ok(out.includes(fp.replace(/"/g, '\\"')));
    } finally {
      await service.close();
    }
  });
});

describe('cycle report', () => {
  it('reads like the seed: summary, root cause with hypothesis, tests, real execution, next steps', async () => {
    const d = await diagnose([fixture('seed/staging-websocket-auth.xml')]);
    const report = renderCycleReport({
      loopName: 'netra-staging',
      cycle: 1,
      command: 'python -m pytest test_priority1_critical.py -v -s --tb=short',
      startedAt: '2025-09-08T09:19:00Z',
      durationMs: 121_000,
      diagnosis: d,
    });
    for (const expected of [
      /^# netra-staging: test-deploy loop cycle 1 report/,
      /\| \*\*Date\*\* \| 2025-09-08 \|/,
      /\| \*\*Time\*\* \| 09:19-09:21 UTC \|/,
      /\| \*\*Duration\*\* \| 2 min 1 s/,
      /\| \*\*Results\*\* \| 1 passed, 24 failed, 0 errored, 0 skipped, 0 flaky \|/,
      /### 1\. websocket-handshake: 24 tests/,
      /\*\*Hypothesis\*\*: The server saw no WebSocket subprotocol/,
      /- … and 14 more/,
      /Slowest tests: `tests\.e2e\.staging\.test_priority1_critical\.TestCriticalWebSocket::test_005_agent_discovery_real` 2 min 0 s/,
      /\*\*For the fix team\*\*/,
    ]) {
      assert.match(report, expected);
    }
  });

  it('sends an infrastructure verdict to the infrastructure team, not the fix team', async () => {
    const d = await diagnose([fixture('seed/staging-503-database.xml')]);
    const report = renderCycleReport({ loopName: 'netra-staging', cycle: 2, command: 'pytest', startedAt: 'not a date', diagnosis: d });
    assert.match(report, /🚨 \*\*Infrastructure problem\*\*/);
    assert.match(report, /\*\*For the infrastructure team\*\*/);
    assert.doesNotMatch(report, /For the fix team/);
    assert.match(report, /\| \*\*Date\*\* \| not a date \|/);
  });
});
