import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readJUnitFiles, parseSeconds, type TestResult } from '../../src/diagnosis/junit';
import { LoopError } from '../../src/errors';
import { fixture } from './helpers';

function byId(tests: TestResult[], id: string): TestResult {
  const found = tests.find((t) => t.id === id);
  assert.ok(found, `no test ${id} in ${tests.map((t) => t.id).join(', ')}`);
  return found;
}

function outcomes(tests: TestResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of tests) out[t.outcome] = (out[t.outcome] ?? 0) + 1;
  return out;
}

describe('JUnit reader', () => {
  it('reads pytest: failure messages, pytest.xfail as skipped, decoded &#10;', async () => {
    const { tests, warnings } = await readJUnitFiles([fixture('pytest/python-xunit-pytest.xml')]);
    assert.deepEqual(warnings, []);
    assert.deepEqual(outcomes(tests), { passed: 6, skipped: 2, failed: 2 });
    assert.equal(byId(tests, 'tests.test_lib::test_error').failure?.message, 'Exception: error');
    assert.equal(byId(tests, 'tests.test_lib::test_expected_failure').outcome, 'skipped');
    const { tests: dorny } = await readJUnitFiles([fixture('pytest/report-tb-short.xml')]);
    assert.match(dorny[0].failure!.body, /E assert False/);
  });

  it('pytest: a call failure plus a teardown error of one test is one failed test; setup errors are errors', async () => {
    const { tests } = await readJUnitFiles([fixture('pytest/teardown-duplicate-xfail.xml')]);
    assert.equal(tests.length, 5);
    const order = byId(tests, 'tests.test_orders::test_create_order');
    assert.equal(order.outcome, 'failed');
    assert.match(order.failure!.message, /assert 201 == 200\n/, '&#10; decoded to a newline');
    assert.equal(byId(tests, 'tests.test_orders::test_refund').outcome, 'errored');
    assert.equal(byId(tests, 'tests.test_orders::test_known_bug').outcome, 'skipped');
  });

  it('reads jest-junit failures without a message attribute from the body', async () => {
    const { tests } = await readJUnitFiles([fixture('jest/jest-junit.xml')]);
    assert.deepEqual(outcomes(tests), { passed: 1, failed: 4, skipped: 1 });
    const failed = tests.filter((t) => t.outcome === 'failed');
    assert.ok(failed.every((t) => t.failure!.message === '' && t.failure!.body.length > 0));
    assert.ok(failed.some((t) => t.failure!.body.startsWith('Error: expect(received).toBeTruthy()')));
  });

  it('reads mocha-junit-reporter and mocha xunit (bare <testsuite>)', async () => {
    const junit = await readJUnitFiles([fixture('mocha/mocha-junit-reporter.xml')]);
    assert.deepEqual(outcomes(junit.tests), { passed: 1 });
    const xunit = await readJUnitFiles([fixture('mocha/mocha-xunit.xml')]);
    // 109 testcases, some with the same classname and name, all passing: the runner counted 109 tests.
    assert.equal(xunit.tests.length, 109);
    assert.ok(xunit.tests.every((t) => t.outcome === 'passed'));
  });

  it('reads go-junit-report and gotestsum: TestMain with empty classname gets the package', async () => {
    const go = await readJUnitFiles([fixture('go/go-junit-report.xml')]);
    assert.deepEqual(outcomes(go.tests), { passed: 2, failed: 2, skipped: 1 });
    const sum = await readJUnitFiles([fixture('go/gotestsum-report.xml')]);
    const main = byId(sum.tests, 'gotest.tools/gotestsum/testjson/internal/badmain::TestMain');
    assert.equal(main.outcome, 'failed');
    assert.match(main.failure!.body, /sometimes main can exit 2\nFAIL\tgotest/);
    assert.equal(outcomes(sum.tests).skipped, 5);
  });

  it('reads Surefire: rerunFailure stays failing, flakyFailure/flakyError without failure is flaky', async () => {
    const { tests } = await readJUnitFiles([fixture('surefire/TEST-com.example.PaymentIT.xml'), fixture('surefire/surefire-flaky.xml')]);
    assert.equal(byId(tests, 'com.example.PaymentIT::chargesCard').outcome, 'failed');
    const refund = byId(tests, 'com.example.PaymentIT::refundsCard');
    assert.equal(refund.outcome, 'flaky');
    assert.equal(refund.failure?.type, 'java.net.SocketTimeoutException');
    assert.equal(byId(tests, 'io.sodadata.dependson.soda.integrations.msteams.MicrosoftTeamsCrudTest::createWebhook').outcome, 'flaky');
  });

  it('reads Playwright: " › " names and [[ATTACHMENT|path]] in system-out', async () => {
    const { tests } = await readJUnitFiles([fixture('playwright/playwright-report.xml')]);
    assert.deepEqual(outcomes(tests), { passed: 36, skipped: 20, failed: 4 });
    const failed = tests.find((t) => t.outcome === 'failed')!;
    assert.match(failed.id, / › /);
    assert.ok(failed.attachments.some((a) => a.endsWith('trace.zip')));
  });

  it('reads nested suites and entity-escaped names', async () => {
    const nested = await readJUnitFiles([fixture('nested-testsuite-in-testsuite.xml')]);
    assert.equal(nested.tests.length, 5);
    const entities = await readJUnitFiles([fixture('with-xml-entities.xml')]);
    assert.ok(entities.tests.some((t) => t.id === 'Test with & in the test name' && t.outcome === 'errored'));
  });

  it('counts a test repeated with mixed outcomes as flaky, across files', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tdl-junit-'));
    const write = (name: string, body: string) => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, `<testsuite name="s"><testcase classname="c" name="t" time="0.5">${body}</testcase></testsuite>`);
      return file;
    };
    try {
      const { tests } = await readJUnitFiles([write('first.xml', '<failure message="boom"/>'), write('rerun.xml', '')]);
      assert.equal(tests.length, 1);
      assert.equal(tests[0].outcome, 'flaky');
      assert.equal(tests[0].failure?.message, 'boom');
      assert.equal(tests[0].timeMs, 1000);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('parses times with thousands separators and decimal commas', () => {
    assert.equal(parseSeconds('1,234.5'), 1234.5);
    assert.equal(parseSeconds('0,25'), 0.25);
    assert.equal(parseSeconds(undefined), 0);
    assert.equal(parseSeconds('nan'), 0);
  });

  it('a truncated file yields what could be read, a warning with file:line:column and an errored entry', async () => {
    const file = fixture('bad/truncated.xml');
    const { tests, warnings } = await readJUnitFiles([file]);
    assert.ok(tests.filter((t) => t.outcome === 'failed').length >= 9);
    assert.match(warnings[0], new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: unclosed tag`));
    assert.ok(warnings.some((w) => /ends inside testcase .*test_011/.test(w)));
    assert.equal(byId(tests, `${file}::(report cut off)`).outcome, 'errored');
    const corrupt = await readJUnitFiles([fixture('bad/corrupt-xml.xml')]);
    assert.ok(corrupt.warnings[0].includes('corrupt-xml.xml:11:21'));
  });

  it('rejects missing files, non-XML and non-JUnit XML with the file named', async () => {
    for (const [name, reason] of [
      ['nope.xml', /cannot read JUnit report .*nope\.xml: no such file/],
      ['bad/not-xml.txt', /not-xml\.txt is not a JUnit XML report: .*not-xml\.txt:\d+:\d+: text data outside of root node/],
      ['bad/not-junit.html', /not-junit\.html is not a JUnit XML report: its root element is <html>/],
      ['bad/non-junit.xml', /root element is <suites>/],
    ] as const) {
      await assert.rejects(readJUnitFiles([fixture(name)]), (e: unknown) => e instanceof LoopError && e.type === 'NoJUnitReport' && reason.test(e.message));
    }
  });
});
