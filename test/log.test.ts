/** Structured log lines: the worker's own secrets masked, long strings clipped before redaction. */
import { strict as assert } from 'node:assert';
import { writeLog } from '../src/log';
import { rememberSecretEnv } from '../src/secrets';

function captureStderr(fn: () => void): string {
  const write = process.stderr.write;
  let out = '';
  process.stderr.write = ((chunk: string) => {
    out += chunk;
    return true;
  }) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stderr.write = write;
  }
  return out;
}

describe('structured logs', () => {
  const vars = { TDL_TEST_LOG_ACCESS: 'opaque-log-Access-55xZ', DATABASE_URL_TDL_TEST: 'mysql://ci:log-Pw-93kQ@db:3306/ci' };
  before(() => Object.assign(process.env, vars));
  after(() => Object.keys(vars).forEach((name) => delete process.env[name]));

  it('masks variables loops named, URL passwords and secret-named keys; keeps one line of bounded length', () => {
    rememberSecretEnv(['TDL_TEST_LOG_ACCESS']);
    const out = captureStderr(() =>
      writeLog('WARN', `suite said ${vars.TDL_TEST_LOG_ACCESS}`, { url: vars.DATABASE_URL_TDL_TEST, clientSecret: 'anything-at-all', output: 'y'.repeat(100_000) }),
    );
    assert.equal(out.split('\n').length, 2, 'one JSON line');
    const line = JSON.parse(out) as Record<string, string>;
    assert.equal(line.message, 'suite said [redacted]');
    assert.equal(line.url, 'mysql://ci:[redacted]@db:3306/ci');
    assert.equal(line.clientSecret, '[redacted]');
    assert.ok(line.output.length <= 8192 && line.output.endsWith('…'));
  });
});
