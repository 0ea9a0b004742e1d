import { strict as assert } from 'node:assert';
import { clipText, fingerprintToken, formatFingerprint, redact, redactDeep, REDACTED } from '../../src/diagnosis/redact';
import { isSecretName, rememberSecretEnv, valueIsSecret } from '../../src/secrets';
import { HOSTILE_SHAPES, hostileText, timePair } from '../support/hostile';
import { makeJwt } from './helpers';

describe('redact', () => {
  const jwt = makeJwt({ sub: 'user-1', email: 'a@example.com', iat: 1757322000 });

  it('replaces a JWT by its fingerprint, with and without Bearer', () => {
    const fp = formatFingerprint(fingerprintToken(jwt));
    assert.equal(redact(`token=${jwt} rejected`), `token=${fp} rejected`);
    const withBearer = redact(`Authorization: Bearer ${jwt}`);
    assert.ok(!withBearer.includes(jwt));
    assert.match(withBearer, /Authorization: \[token len=\d+ dots=2 eyJhbGciOiJI…\S{8} bearer=yes\]/);
  });

  it('fingerprints like the contract: length, dots, first 12 and last 8, Bearer prefix', () => {
    const fp = fingerprintToken(jwt);
    assert.deepEqual(fp, { length: jwt.length, dots: 2, prefix: jwt.slice(0, 12), suffix: jwt.slice(-8), bearer: false });
    assert.equal(fingerprintToken(`Bearer ${jwt}`).bearer, true);
    assert.equal(formatFingerprint(fingerprintToken('short-secret')), '[token len=12 dots=0 … bearer=no]');
  });

  it('masks Bearer/Basic credentials, key=value secrets and well-known key formats', () => {
    const text = [
      'Authorization: Basic dXNlcjpodW50ZXIy',
      'got Bearer abc123.def456~ok',
      'url?api_key=9f86d081884c7d65&x=1',
      '{"password": "hunter2hunter2"}',
      'OPENAI sk-proj-abcdefghijklmnopqrstuv',
      'missing Bearer prefix',
    ].join('\n');
    const out = redact(text);
    for (const secret of ['dXNlcjpodW50ZXIy', 'abc123.def456~ok', '9f86d081884c7d65', 'hunter2hunter2', 'sk-proj-abcdefghijklmnopqrstuv']) {
      assert.ok(!out.includes(secret), `${secret} left in ${out}`);
    }
    assert.ok(out.includes('missing Bearer prefix'), 'plain words after Bearer are not credentials');
    assert.ok(out.includes(`api_key=${REDACTED}&x=1`));
  });

  it('masks env values named like secrets and explicit secrets in all their encoded forms', () => {
    const value = 'opaque/Value+with=chars"42';
    process.env.E2E_TEST_PASSWORD = value;
    try {
      const forms = [
        value,
        Buffer.from(value).toString('base64'),
        Buffer.from(value).toString('base64url'),
        encodeURIComponent(value),
        JSON.stringify(value).slice(1, -1),
      ];
      const out = redact(forms.join(' | ') + ' | other-explicit-one', ['other-explicit-one']);
      for (const form of forms) assert.ok(!out.includes(form), `${form} left in ${out}`);
      assert.ok(!out.includes('other-explicit-one'));
      assert.equal(redact('a harmless line'), 'a harmless line');
    } finally {
      delete process.env.E2E_TEST_PASSWORD;
    }
  });

  it('redactDeep masks secret-named keys as a whole and keeps env var names', () => {
    const out = redactDeep({ tokenEnv: 'E2E_JWT', accessToken: 'plainopaque', nested: [{ msg: `bad ${jwt}` }], n: 3 });
    assert.equal(out.tokenEnv, 'E2E_JWT');
    assert.equal(out.accessToken, REDACTED);
    assert.ok(!JSON.stringify(out).includes(jwt));
    assert.equal(out.n, 3);
  });
});

describe('the secret policy', () => {
  it('knows secret names of variables and JSON keys, and not names of variables', () => {
    const secret = ['E2E_TOKEN', 'GITHUB_TOKEN', 'CLIENT_SECRET', 'DB_PASSWORD', 'MYSQL_PASSWD', 'DB_PASS', 'PASS', 'SSH_KEY', 'STRIPE_APIKEY',
      'OPENAI_API_KEY', 'GOOGLE_APPLICATION_CREDENTIALS', 'GPG_PRIVATE_KEY', 'E2E_JWT', 'SLACK_WEBHOOK_URL', 'SENTRY_DSN', 'accessToken', 'clientSecret', 'apiKey', 'password', 'authorization'];
    const plain = ['PATH', 'HOME', 'PWD', 'OLDPWD', 'BYPASS_CACHE', 'KEYBOARD', 'MONKEY_MODE', 'GIT_AUTHOR_NAME', 'tokenEnv', 'webhookUrlEnv', 'E2E_TOKEN_ENV', 'passed', 'authHeader'];
    for (const name of secret) assert.ok(isSecretName(name), `${name} is a secret name`);
    for (const name of plain) assert.ok(!isSecretName(name), `${name} is not a secret name`);
  });

  it('masks the worker\'s own secrets: secret-named variables, variables loops named, URL passwords anywhere', () => {
    const vars = { TDL_T_DB_URL: 'postgres://app:s3cr3t-pa55@db.internal:5432/app', TDL_T_ACCESS: 'opaque-access-0123456789', TDL_T_PASS: 'hunter2-hunter2' };
    Object.assign(process.env, vars);
    try {
      const text = `db ${vars.TDL_T_DB_URL}; password alone s3cr3t-pa55; access ${vars.TDL_T_ACCESS}; pass ${vars.TDL_T_PASS}; mysql://root:other-pw@h/x`;
      const before = redact(text);
      assert.ok(before.includes(vars.TDL_T_ACCESS), 'a variable whose name does not look secret is not masked until a loop names it');
      assert.ok(!before.includes('hunter2-hunter2') && !before.includes('s3cr3t-pa55') && !before.includes('other-pw'));
      assert.ok(before.includes('postgres://app:[redacted]@db.internal:5432/app'), before);
      assert.ok(before.includes('mysql://root:[redacted]@h/x'), before);
      rememberSecretEnv(['TDL_T_ACCESS']);
      assert.equal(redact(`access ${vars.TDL_T_ACCESS} ${Buffer.from(vars.TDL_T_ACCESS).toString('base64')}`), `access ${REDACTED} ${REDACTED}`);
    } finally {
      for (const name of Object.keys(vars)) delete process.env[name];
    }
  });

  it('masks Slack webhook URLs wherever they appear', () => {
    assert.equal(redact('posted to https://hooks.slack.com/services/T0001/B0002/abcdefXYZ now'), `posted to https://${REDACTED} now`);
  });
});

describe('redaction time', () => {
  // Times at 40 KB and 320 KB: linear is a ratio of about 8, the old quadratic patterns gave 64 and more.
  for (const [name, unit] of Object.entries(HOSTILE_SHAPES)) {
    it(`grows linearly with the text: ${name}`, () => {
      const small = hostileText(unit, 40_000);
      const large = hostileText(unit, 320_000);
      const { smallMs, largeMs } = timePair(() => redact(small), () => redact(large));
      const ratio = largeMs / smallMs;
      assert.ok(ratio < 24, `320 KB took ${ratio.toFixed(1)}x the time of 40 KB`);
    });
  }

  it('and so does the check that refuses secret values in the loop input (it runs in the workflow)', () => {
    for (const [name, unit] of Object.entries(HOSTILE_SHAPES)) {
      const small = hostileText(unit, 40_000);
      const large = hostileText(unit, 320_000);
      const { smallMs, largeMs } = timePair(() => valueIsSecret(small), () => valueIsSecret(large));
      assert.ok(largeMs / smallMs < 24, `${name}: 320 KB took ${(largeMs / smallMs).toFixed(1)}x the time of 40 KB`);
    }
  });
});

describe('clipText', () => {
  it('never leaves part of a secret at the cut, where redaction could no longer recognise it', () => {
    const secret = 'Zx9LmQ2vR7tW4yB8nK3pD6sF1hJ5gC0a';
    const message = `${'connection refused by upstream '.repeat(30)}with key ${secret} attached`;
    const cut = message.indexOf(secret) + 10;
    const clipped = clipText(message, cut);
    assert.ok(!clipped.includes(secret.slice(0, 6)), `a piece of the secret survived: ${clipped.slice(-20)}`);
    assert.ok(clipped.endsWith('with key '));
    assert.equal(clipText(message, cut, '…').slice(-2), ' …');
    assert.equal(clipText('short', 10), 'short');
  });

  it('keeps a JWT whole or not at all', () => {
    const jwt = makeJwt({ sub: 'user-1' });
    const text = `${'x '.repeat(500)}Authorization: Bearer ${jwt}`;
    const clipped = clipText(text, 1024);
    assert.ok(!clipped.includes(jwt.slice(0, 16)), 'the token was cut in two');
    assert.ok(!redact(clipped).includes(jwt.slice(0, 16)));
  });
});
