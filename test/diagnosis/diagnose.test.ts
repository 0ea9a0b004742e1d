import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { diagnoseCommand } from '../../src/cli/diagnose';
import { diagnose } from '../../src/diagnosis';
import { normaliseMessage } from '../../src/diagnosis/cluster';
import { fixture } from './helpers';

/** Collects what a command writes. */
export class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

describe('diagnose', () => {
  it('the seed: 24 failures are one websocket-handshake root cause about the missing subprotocol', async () => {
    const d = await diagnose([fixture('seed/staging-websocket-auth.xml')]);
    assert.deepEqual(d.tests, { total: 25, passed: 1, failed: 24, errored: 0, skipped: 0, flaky: 0 });
    assert.equal(d.verdict, 'code');
    assert.equal(d.clusters.length, 1);
    const [c] = d.clusters;
    assert.equal(c.category, 'websocket-handshake');
    assert.equal(c.count, 24);
    assert.equal(c.tests.length, 24);
    assert.match(c.signature, /Token validation failed \| Debug: <n> chars, <n> dots.* @ staging_helpers\.py:88 in ws_expect_welcome$/);
    assert.ok(c.evidence.some((e) => e.includes('"websocket_protocol": "[MISSING]"')));
    assert.match(c.hypothesis, /no WebSocket subprotocol/);
    assert.ok(d.durationMs > 100_000, 'real durations, not 0.00 s');
    assert.equal(d.slowestTests[0].timeMs, 120412);
  });

  it('the seed after the fix: 503s, refused connections and a database start-up failure are infrastructure', async () => {
    const d = await diagnose([fixture('seed/staging-503-database.xml')]);
    assert.equal(d.verdict, 'infrastructure');
    assert.deepEqual(d.clusters.map((c) => [c.category, c.count]), [['service-unavailable', 2], ['database', 1], ['service-unavailable', 1]]);
    assert.match(d.clusters[1].hypothesis, /infrastructure problem, not a code defect/);
  });

  it('categorizes real reports of each dialect', async () => {
    const cases: [string, string, [string, number][]][] = [
      ['playwright/playwright-report.xml', 'code', [['timeout', 4]]],
      ['jest/jest-junit.xml', 'code', [['unknown', 2], ['assertion', 1], ['timeout', 1]]],
      ['pytest/teardown-duplicate-xfail.xml', 'code', [['assertion', 1], ['test-setup', 1]]],
      ['surefire/TEST-com.example.PaymentIT.xml', 'infrastructure', [['service-unavailable', 1]]],
      ['surefire/surefire-flaky.xml', 'flaky', []],
      ['mocha/mocha-xunit.xml', 'passed', []],
    ];
    for (const [file, verdict, clusters] of cases) {
      const d = await diagnose([fixture(file)]);
      assert.equal(d.verdict, verdict, file);
      assert.deepEqual(d.clusters.map((c) => [c.category, c.count]), clusters, file);
    }
  });

  it('merges near-duplicate go failures and keeps every failure in exactly one cluster', async () => {
    const d = await diagnose([fixture('go/gotestsum-report.xml')]);
    const clustered = d.clusters.reduce((n, c) => n + c.count, 0);
    assert.equal(clustered, d.tests.failed + d.tests.errored);
    const ids = d.clusters.flatMap((c) => c.tests);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(d.clusters.some((c) => c.count >= 5 && c.signature.includes('<*>')), 'subtests "failed sub a".."d" are one template');
  });

  it('normalises the variable parts of messages but keeps HTTP statuses', () => {
    assert.equal(
      normaliseMessage('GET http://10.0.0.5:8080/u?id=42 returned 503 at 2025-09-08T09:19:02Z req 3f2a9c1e-0000-4000-8000-1234567890ab took 1.5s'),
      'GET http://<ip>/u?id=<*> returned 503 at <time> req <uuid> took <n>s',
    );
  });
});

describe('tdl diagnose', () => {
  it('--json prints the contract shape and exits 0 even though tests failed', async () => {
    const out = new Capture();
    const err = new Capture();
    const code = await diagnoseCommand(['--junit', fixture('seed/staging-websocket-auth.xml'), '--json'], out, err);
    assert.equal(code, 0);
    const json = JSON.parse(out.text);
    assert.deepEqual(Object.keys(json.tests), ['total', 'passed', 'failed', 'errored', 'skipped', 'flaky']);
    assert.equal(json.verdict, 'code');
    assert.deepEqual(Object.keys(json.clusters[0]).slice(0, 6), ['category', 'count', 'signature', 'message', 'tests', 'hypothesis']);
    assert.equal(err.text, '');
  });

  it('prints a human summary by default, several files at once', async () => {
    const out = new Capture();
    const code = await diagnoseCommand(['--junit', fixture('seed/staging-websocket-auth.xml'), fixture('pytest/report-tb-short.xml')], out, new Capture());
    assert.equal(code, 0);
    assert.match(out.text, /^26 tests: 1 passed, 25 failed/);
    assert.match(out.text, /1\. websocket-handshake, 24 tests: /);
    assert.match(out.text, /\(\+19 more\)/);
  });

  it('exits 2 naming the file or the usage problem', async () => {
    for (const [args, message] of [
      [['--junit', fixture('nope.xml')], /nope\.xml: no such file/],
      [['--junit', fixture('bad/not-xml.txt')], /not-xml\.txt is not a JUnit XML report/],
      [[], /no JUnit file given\nusage: tdl diagnose/],
      [['--junit', 'a.xml', '--frobnicate'], /unknown option --frobnicate/],
    ] as const) {
      const err = new Capture();
      assert.equal(await diagnoseCommand([...args], new Capture(), err), 2);
      assert.match(err.text, message);
    }
  });
});
