import { strict as assert } from 'node:assert';
import { main } from '../../src/cli/main';
import { diagnose } from '../../src/diagnosis';
import { categorize, hypothesisFor } from '../../src/diagnosis/categorize';
import { normaliseMessage } from '../../src/diagnosis/cluster';
import type { TestResult } from '../../src/diagnosis/junit';
import { fixture, withReports } from './helpers';

/** Collects what a command writes. */
/** `tdl` in-process: its exit code and what it wrote. */
export async function tdl(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const run = { code: 0, out: '', err: '' };
  run.code = await main(args, { out: (t) => (run.out += `${t}\n`), err: (t) => (run.err += `${t}\n`), isTTY: false });
  return run;
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

  it('keeps every failing test id of a root cause (the hand-off file lists them all), however many', async () => {
    await withReports(async (dir) => {
      const cases = Array.from({ length: 300 }, (_, i) => `<testcase classname="shop.CartTest" name="adds_item_${i}"><failure message="AssertionError: expected 201, got 500" type="AssertionError"/></testcase>`);
      const d = await diagnose([dir.write('junit.xml', `<testsuite name="shop" tests="300">${cases.join('')}</testsuite>`)]);
      assert.equal(d.clusters.length, 1);
      assert.equal(d.clusters[0].count, 300);
      assert.deepEqual(d.clusters[0].tests, cases.map((_, i) => `shop.CartTest::adds_item_${i}`));
    });
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

  it('rules match whole tokens in context, never pieces of identifiers, and hypotheses name only what the evidence shows', () => {
    const cases: [string, string, RegExp | null][] = [
      ["E   ModuleNotFoundError: No module named 'pydantic_settings'", 'test-setup', null],
      ['pydantic_core._pydantic_core.ValidationError: 1 validation error for Order\nnote\n  Extra inputs are not permitted [type=extra_forbidden]', 'unknown', null],
      ['psycopg2.OperationalError: connection to server at "db" (10.0.0.3), port 5432 failed: FATAL:  password authentication failed for user "app"', 'auth', /user name or password/],
      ['kubernetes.client.exceptions.ApiException: (403) Reason: Forbidden: pods is forbidden: User "system:serviceaccount:e2e:runner" cannot list resource "pods"', 'auth', /^(?!.*(?:JWT|Bearer|token)).*not allowed/],
      ['requests.exceptions.HTTPError: 503 Server Error: Service Unavailable for url: https://api/health', 'service-unavailable', /infrastructure problem/],
      ['AssertionError: expected order 503 to be shipped', 'assertion', null],
      ['Error: Timed out 5000ms waiting for expect(locator).toHaveText(expected)\n\nCall log:\n  - expect.toHaveText with timeout 5000ms', 'assertion', null],
      ['Error: page.goto: net::ERR_CONNECTION_REFUSED at http://localhost:8080/', 'service-unavailable', null],
      ['Error: invokeMethodConsideringTimeout failed', 'unknown', null],
      // The test's own insert refused by the schema is its setup; the application's is not.
      ['error: null value in column "expires_at" violates not-null constraint\n    at /app/node_modules/pg/lib/client.js:631:17\n    at /app/backend/tests/integration/grants.spec.ts:38:20', 'test-setup', null],
      ['error: null value in column "expires_at" violates not-null constraint\n    at /app/node_modules/pg/lib/client.js:631:17\n    at createGrant (/app/backend/src/grants/service.ts:88:5)', 'unknown', null],
      ['Traceback (most recent call last):\n  File "/app/tests/test_orders.py", line 12, in test_ship\n  File "/app/orders/models.py", line 40, in save\nsqlalchemy.exc.IntegrityError: duplicate key value violates unique constraint', 'unknown', null],
    ];
    for (const [text, category, hypothesis] of cases) {
      const test: TestResult = { id: 'c::t', outcome: 'failed', timeMs: 0, failure: { kind: 'failure', type: '', message: '', body: text }, output: '', attachments: [], file: 'x.xml' };
      const decision = categorize(test);
      assert.equal(decision.category, category, text);
      if (hypothesis) assert.match(hypothesisFor(decision.category, decision.evidence), hypothesis, text);
    }
  });

  it('clusters on what a triager uses: statuses kept, one call site failing five ways is one root cause with variants', async () => {
    await withReports(async (dir) => {
      const failing = (name: string, message: string, frame: string) =>
        `<testcase classname="ws.spec.ts" name="${name}"><failure message="${message}">Error: ${message}\n    at WebSocket.connect (/app/node_modules/ws/lib/websocket.js:900:12)\n    at ${frame}\n    at Context.&lt;anonymous&gt; (/app/test/${name}.spec.ts:5:3)</failure></testcase>`;
      const atClient = 'openSocket (/app/test/helpers/client.ts:42:11)';
      const handshake = dir.write(
        'ws.xml',
        `<testsuite name="ws" tests="7">${[
          ['a', 'Server sent no subprotocol'],
          ['b', 'Unexpected server response: 426'],
          ['c', 'Invalid Sec-WebSocket-Protocol header'],
          ['d', 'WebSocket closed with code 1002 during the handshake'],
          ['e', 'WebSocket was closed before the connection was established'],
          ['f', 'Unexpected server response: 426'],
        ]
          .map(([name, message]) => failing(name, message, atClient))
          .join('')}<testcase classname="ws.spec.ts" name="ok"/></testsuite>`,
      );
      const d = await diagnose([handshake]);
      assert.deepEqual(d.clusters.map((c) => [c.category, c.count]), [['websocket-handshake', 6]]);
      assert.match(d.clusters[0].signature, /@ client\.ts:42 in openSocket$/);
      assert.deepEqual(d.clusters[0].variants.map((v) => v.count), [2, 1, 1, 1, 1]);
      assert.equal(d.verdict, 'code');

      const statuses = dir.write(
        'cart.xml',
        `<testsuite name="cart" tests="3">${[
          ['create', 'AssertionError: Error creating cart: 500'],
          ['change', 'AssertionError: Error changing quantity: 201'],
          ['change2', 'AssertionError: Error changing quantity: 201'],
        ]
          .map(([name, message]) => `<testcase classname="test_cart" name="${name}"><failure message="${message}"/></testcase>`)
          .join('')}</testsuite>`,
      );
      const cart = await diagnose([statuses]);
      assert.deepEqual(cart.clusters.map((c) => [c.signature, c.count]), [['AssertionError: Error changing quantity: 201', 2], ['AssertionError: Error creating cart: 500', 1]]);
    });
  });

  it('failures a refused request explains are one infrastructure root cause, its symptoms the variants (Newman)', async () => {
    await withReports(async (dir) => {
      const request = (name: string, checks: string[]) =>
        `<testsuite name="${name}" tests="${checks.length}" failures="${checks.length}" errors="1">${checks
          .map((c, i) => `<testcase classname="${name}" name="check ${i}"><failure type="AssertionFailure" message="${c}">AssertionFailure</failure></testcase>`)
          .join('')}<system-err>Iteration: 0
RequestError: Error: connect ECONNREFUSED 127.0.0.1:8000</system-err></testsuite>`;
      const file = dir.write(
        'newman.xml',
        `<testsuites>${request('POST /readings', ['"undefined" is not valid JSON', 'expected undefined to deeply equal 201'])}${request('GET /latest', ['"undefined" is not valid JSON'])}</testsuites>`,
      );
      const d = await diagnose([file]);
      assert.equal(d.verdict, 'infrastructure');
      assert.deepEqual(d.clusters.map((c) => [c.category, c.count, c.signature]), [['service-unavailable', 3, 'RequestError: Error: connect ECONNREFUSED <ip>']]);
      assert.deepEqual(d.clusters[0].variants.map((v) => v.count), [2, 1]);
    });
  });

  it('Playwright expect() failures that all waited 5000 ms are assertions: a mostly failing run of them is code, not infrastructure', async () => {
    await withReports(async (dir) => {
      const body = 'Error: expect(locator).toBeVisible() failed\n\nLocator: getByRole(&apos;button&apos;)\nExpected: visible\nTimeout: 5000ms\n\n    at /app/tests/home.spec.ts:12:40';
      const file = dir.write(
        'pw.xml',
        `<testsuite name="home.spec.ts" hostname="chromium" tests="5">${[1, 2, 3, 4, 5]
          .map((i) => `<testcase classname="home.spec.ts" name="shows button ${i}"><failure message="home.spec.ts:10:5 › shows button ${i}" type="FAILURE">${body}</failure></testcase>`)
          .join('')}</testsuite>`,
      );
      const d = await diagnose([file]);
      assert.equal(d.verdict, 'code');
      assert.deepEqual(d.clusters.map((c) => [c.category, c.count]), [['assertion', 5]]);
      assert.ok(d.clusters[0].message.startsWith('Error: expect(locator).toBeVisible() failed'), 'the error, not the test title');
      assert.ok(!d.clusters[0].message.includes('shows button'));
    });
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
    const { code, out, err } = await tdl('diagnose', '--junit', fixture('seed/staging-websocket-auth.xml'), '--json');
    assert.equal(code, 0);
    const json = JSON.parse(out);
    assert.deepEqual(Object.keys(json.tests), ['total', 'passed', 'failed', 'errored', 'skipped', 'flaky']);
    assert.equal(json.verdict, 'code');
    assert.deepEqual(Object.keys(json.clusters[0]).slice(0, 6), ['category', 'count', 'signature', 'message', 'tests', 'hypothesis']);
    assert.equal(err, '');
  });

  it('prints a human summary by default, several files at once', async () => {
    const { code, out } = await tdl('diagnose', '--junit', fixture('seed/staging-websocket-auth.xml'), fixture('pytest/report-tb-short.xml'));
    assert.equal(code, 0);
    assert.match(out, /^26 tests: 1 passed, 25 failed/);
    assert.match(out, /1\. websocket-handshake, 24 tests: /);
    assert.match(out, /\(\+19 more\)/);
  });

  it('never writes raw control bytes to the terminal, in text or --json', async () => {
    await withReports(async (dir) => {
      const file = dir.write(
        'escapes.xml',
        `<testsuite name="s"><testcase classname="c" name="t\x1b[2J"><failure message="boom &#x9b;31m &#x7f;">\x1b[31mAssertionError: boom\x1b[0m\r</failure><system-out>\x1b]0;title\x07</system-out></testcase></testsuite>`,
      );
      for (const args of [['--junit', file], ['--junit', file, '--json']]) {
        const { code, out } = await tdl('diagnose', ...args);
        assert.equal(code, 0);
        assert.ok(!/[\x00-\x08\x0B-\x1F\x7F-\x9F]/.test(out), JSON.stringify(out));
        assert.match(out, /boom/);
      }
    });
  });

  it('exits 2 naming the file or the usage problem', async () => {
    for (const [args, message] of [
      [['--junit', fixture('nope.xml')], /nope\.xml: no such file/],
      [['--junit', fixture('bad/not-xml.txt')], /not-xml\.txt is not a JUnit XML report/],
      [[], /no JUnit file given\nusage: tdl diagnose/],
      [['--junit', 'a.xml', '--frobnicate'], /unknown option --frobnicate/],
    ] as const) {
      const { code, err } = await tdl('diagnose', ...args);
      assert.equal(code, 2);
      assert.match(err, message);
    }
  });
});
