/** The loop's input: defaults, and errors that name the field. */
import assert from 'node:assert/strict';
import { ConfigError, durationMs, parseLoopConfig } from '../src/config';

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
    assert.deepEqual(c.verify, { url: null, expectStatus: 200, timeout: '10m', interval: '10s', logsCommand: null, suite: false });
    assert.deepEqual(c.handoff, { webhookUrl: null, webhookUrlEnv: null, command: null, use: null, remindEvery: '4h', maxAttemptsPerCause: 2, agentTimeout: null, timeout: '15s' });
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
      use: null,
      timeout: '15m',
      strategy: 'direct',
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
    ['both suite.command and suite.use', { suite: { command: 'x', use: 'e2e' } }, /^suite\.use: give suite\.command or suite\.use, not both/],
    ['a cwd beside suite.use', { suite: { use: 'e2e', cwd: '/tmp' } }, /^suite\.cwd: cannot be given with suite\.use/],
    ['an inline rerun beside suite.use', { suite: { use: 'e2e', rerunFailed: 'sh evil' } }, /^suite\.rerunFailed: cannot be given with suite\.use/],
    ['a command deploy with neither command nor use', { suite: { command: 'x' }, deploy: { kind: 'command' } }, /^deploy\.command: is required.*deploy\.use/],
    ['both deploy.command and deploy.use', { suite: { command: 'x' }, deploy: { kind: 'command', command: 'd', use: 'staging' } }, /^deploy\.use: .*not both/],
    ['both handoff.command and handoff.use', { suite: { command: 'x' }, handoff: { command: 'h', use: 'agents' } }, /^handoff\.use: .*not both/],
    ['a path given as a policy name', { suite: { use: '../../bin/sh' } }, /^suite\.use: must be a name from the worker's command policy/],
    ['an empty inline suite command', { suite: { command: '  ' } }, /^suite\.command: is required/],
    ['a webhook variable that is not a name', { suite: { command: 'x' }, handoff: { webhookUrlEnv: 'https://hooks.slack.com/x' } }, /^handoff\.webhookUrlEnv: must name an environment variable/],
  ];
  for (const [what, input, expected] of bad) {
    it(`names the field for ${what}`, function () {
      assert.match(problem(input), expected);
    });
  }
});

describe('loop input durations', function () {
  /** Sets one duration field in an otherwise minimal input. */
  const withDuration = (field: string, value: unknown) => {
    const [section, key] = field.split('.');
    const input: Record<string, Record<string, unknown>> = { suite: { command: 'x' } };
    if (section === 'deploy') input.deploy = { kind: 'command', command: 'd' };
    input[section] = { ...input[section], [key]: value };
    return input;
  };
  const read = (field: string, value: unknown, opts?: Parameters<typeof parseLoopConfig>[1]) => {
    const [section, key] = field.split('.');
    return (parseLoopConfig(withDuration(field, value), opts) as unknown as Record<string, Record<string, string>>)[section][key];
  };

  const limit = 2 ** 31 - 1;
  const fields: [string, { min: string; belowMin: unknown; max: unknown; aboveMax: unknown }][] = [
    ['suite.timeout', { min: '1s', belowMin: '999ms', max: limit, aboveMax: '25d' }],
    ['deploy.timeout', { min: '1s', belowMin: 999, max: '24d', aboveMax: limit + 1 }],
    ['verify.timeout', { min: '1s', belowMin: '0.5s', max: limit, aboveMax: 1e21 }],
    ['verify.interval', { min: '1s', belowMin: '500ms', max: '24.8d', aboveMax: '1y' }],
    ['handoff.remindEvery', { min: '1m', belowMin: '1ms', max: '365d', aboveMax: '366d' }],
    ['infra.recheckEvery', { min: '1m', belowMin: '59s', max: '52w', aboveMax: '2y' }],
    ['infra.giveUpAfter', { min: '60s', belowMin: '30s', max: '365d', aboveMax: '400d' }],
  ];
  for (const [field, b] of fields) {
    it(`bounds ${field}: ${b.min} to ${b.max} pass, ${b.belowMin} and ${b.aboveMax} are refused naming the field`, function () {
      assert.equal(read(field, b.min), b.min);
      assert.equal(read(field, b.max), typeof b.max === 'number' ? `${b.max}ms` : b.max);
      const bounds = new RegExp(`^${field.replace('.', '\\.')}: must be a duration from \\S+ to \\S+`);
      assert.match(problem(withDuration(field, b.belowMin)), bounds);
      assert.match(problem(withDuration(field, b.aboveMax)), bounds);
    });
  }

  it('reads a number as milliseconds: a finite, positive, whole number', function () {
    assert.equal(read('suite.timeout', 90_000), '90000ms');
    assert.equal(durationMs(read('suite.timeout', 90_000)), 90_000);
    assert.match(problem(withDuration('suite.timeout', 1e21)), /^suite\.timeout: must be a duration from 1s to 2147483647ms .*got number 1e\+21/);
    assert.match(problem(withDuration('suite.timeout', 1500.5)), /^suite\.timeout: must be a duration like "90s".*whole number of milliseconds/);
    assert.match(problem(withDuration('suite.timeout', -60_000)), /^suite\.timeout: must be a duration/);
    assert.match(problem(withDuration('suite.timeout', true)), /^suite\.timeout: must be a duration like "90s".*got boolean true/);
  });

  it('reads strings as Temporal does (ms), in any letter case, and converts them with durationMs', function () {
    assert.equal(durationMs(read('suite.timeout', '1.5h')), 5_400_000);
    assert.equal(durationMs(read('suite.timeout', '5 Minutes')), 300_000);
    assert.match(problem(withDuration('suite.timeout', '-5m')), /^suite\.timeout: must be a duration like/);
    assert.match(problem(withDuration('suite.timeout', '5 fortnights')), /^suite\.timeout: must be a duration like/);
  });

  it('keeps the old rule (any positive duration) for loops started before the bounds', function () {
    assert.equal(read('infra.recheckEvery', '1s', { durations: 'legacy' }), '1s');
    assert.equal(read('verify.interval', '500ms', { durations: 'legacy' }), '500ms');
    assert.match(problem(withDuration('infra.recheckEvery', '0s')), /^infra\.recheckEvery: must be a duration/);
    assert.throws(() => parseLoopConfig(withDuration('infra.recheckEvery', '0s'), { durations: 'legacy' }), ConfigError);
  });
});
