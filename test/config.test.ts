/** The loop's input: defaults, and errors that name the field. */
import assert from 'node:assert/strict';
import { ConfigError, parseLoopConfig } from '../src/config';

function problem(input: unknown): string {
  try {
    parseLoopConfig(input);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
    return err.message;
  }
  assert.fail('the input was accepted');
}

describe('loop input', function () {
  it('needs only suite.command; everything else has the contract defaults', function () {
    const c = parseLoopConfig({ suite: { command: 'pytest' } });
    assert.equal(c.suite.command, 'pytest');
    assert.equal(c.suite.cwd, '.');
    assert.equal(c.suite.timeout, '30m');
    assert.deepEqual(c.deploy, { kind: 'none' });
    assert.deepEqual(c.verify, { url: null, expectStatus: 200, timeout: '10m', interval: '10s' });
    assert.deepEqual(c.handoff, { webhookUrl: null, webhookUrlEnv: null, command: null, remindEvery: '4h' });
    assert.deepEqual(c.infra, { recheckEvery: '5m', giveUpAfter: '24h' });
    assert.equal(c.maxCycles, 10);
    assert.deepEqual(c.probes, { websocket: null, jwt: null, http: null });
  });

  it('accepts the contract example as written', function () {
    const c = parseLoopConfig({
      name: 'netra-staging',
      suite: { command: 'python -m pytest tests/e2e/staging -v --junitxml="$JUNIT_XML"', cwd: '.', env: {}, timeout: '30m' },
      deploy: { kind: 'none' },
      verify: { url: 'https://api.staging.example/health', expectStatus: 200, timeout: '10m', interval: '10s' },
      probes: {
        websocket: { url: 'wss://api.staging.example/ws', subprotocols: ['jwt-auth'], tokenEnv: 'E2E_JWT' },
        jwt: { tokenEnv: 'E2E_JWT', jwksUrl: null, issuer: null, audience: null },
      },
      handoff: { webhookUrl: null, command: null, remindEvery: '4h' },
      infra: { recheckEvery: '5m', giveUpAfter: '24h' },
      maxCycles: 10,
    });
    assert.equal(c.name, 'netra-staging');
    assert.deepEqual(c.probes.websocket, { url: 'wss://api.staging.example/ws', subprotocols: ['jwt-auth'], tokenEnv: 'E2E_JWT' });
    assert.deepEqual(c.probes.http, { url: 'https://api.staging.example/health' }, 'the health probe defaults to verify.url');
  });

  it('accepts each deploy kind', function () {
    assert.deepEqual(parseLoopConfig({ suite: { command: 'x' }, deploy: { kind: 'command', command: './deploy.sh "$COMMIT"' } }).deploy, {
      kind: 'command',
      command: './deploy.sh "$COMMIT"',
      timeout: '15m',
    });
    const run = parseLoopConfig({
      suite: { command: 'x' },
      deploy: { kind: 'cloud-run', project: 'p', region: 'us-central1', service: 'backend', image: 'us-docker.pkg.dev/p/r/backend:{commit}', endpoint: '127.0.0.1:9000' },
    }).deploy;
    assert.equal(run.kind, 'cloud-run');
  });

  const bad: [string, unknown, RegExp][] = [
    ['a missing suite.command', { suite: {} }, /^suite\.command: is required/],
    ['no input at all', null, /^input: must be a JSON object/],
    ['an unknown deploy.kind', { suite: { command: 'x' }, deploy: { kind: 'heroku' } }, /^deploy\.kind: must be one of none, command, cloud-run, got "heroku"/],
    ['a bad duration', { suite: { command: 'x', timeout: 'soon' } }, /^suite\.timeout: must be a duration like "90s".*got "soon"/],
    ['a zero duration', { suite: { command: 'x' }, infra: { recheckEvery: '0s' } }, /^infra\.recheckEvery: must be a duration/],
    ['a misspelt field', { suite: { command: 'x' }, maxCycle: 3 }, /^maxCycle: is not a known field/],
    ['a bad maxCycles', { suite: { command: 'x' }, maxCycles: 0 }, /^maxCycles: must be a whole number from 1/],
    ['a secret in suite.env', { suite: { command: 'x', env: { E2E_TOKEN: 'abc' } } }, /^suite\.env\.E2E_TOKEN: looks like a secret.*worker's environment/],
    ['a JWT in suite.env', { suite: { command: 'x', env: { AUTH: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig' } } }, /^suite\.env\.AUTH: looks like a secret/],
    ['a non-string env value', { suite: { command: 'x', env: { A: 1 } } }, /^suite\.env\.A: must be a string/],
    ['a cloud-run deploy without a service', { suite: { command: 'x' }, deploy: { kind: 'cloud-run', project: 'p', region: 'r', image: 'i' } }, /^deploy\.service: is required/],
    ['a bad endpoint', { suite: { command: 'x' }, deploy: { kind: 'cloud-run', project: 'p', region: 'r', service: 's', image: 'i', endpoint: 'http://x' } }, /^deploy\.endpoint: must be host:port/],
    ['a verify URL that is not one', { suite: { command: 'x' }, verify: { url: 'staging' } }, /^verify\.url: must be an absolute URL/],
    ['a websocket probe over http', { suite: { command: 'x' }, probes: { websocket: { url: 'http://x/ws' } } }, /^probes\.websocket\.url: must use ws or wss/],
    ['a token given instead of its variable name', { suite: { command: 'x' }, probes: { jwt: { tokenEnv: 'eyJhbGciOi.x.y' } } }, /^probes\.jwt\.tokenEnv: must name an environment variable/],
  ];
  for (const [what, input, expected] of bad) {
    it(`names the field for ${what}`, function () {
      assert.match(problem(input), expected);
    });
  }
});
