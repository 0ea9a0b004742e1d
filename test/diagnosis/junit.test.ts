import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { MAX_REPORT_BYTES, readJUnitFiles, parseSeconds, type TestResult } from '../../src/diagnosis/junit';
import { LoopError } from '../../src/errors';
import { fixture, withReports } from './helpers';

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
    await withReports(async (dir) => {
      const write = (name: string, body: string) => dir.write(name, `<testsuite name="s"><testcase classname="c" name="t" time="0.5">${body}</testcase></testsuite>`);
      const { tests } = await readJUnitFiles([write('first.xml', '<failure message="boom"/>'), write('rerun.xml', '')]);
      assert.equal(tests.length, 1);
      assert.equal(tests[0].outcome, 'flaky');
      assert.equal(tests[0].failure?.message, 'boom');
      assert.equal(tests[0].timeMs, 1000);
    });
  });

  it('counts tests as the runner did: one per suite element (Playwright projects, Newman requests), retries only past the declared count', async () => {
    await withReports(async (dir) => {
      const pass = (name: string) => `<testcase classname="login.spec.ts" name="${name}"/>`;
      const fail = (name: string, why = 'expect(locator).toBeVisible() failed') => `<testcase classname="login.spec.ts" name="${name}"><failure message="${why}"/></testcase>`;
      const playwright = dir.write(
        'playwright.xml',
        `<testsuites><testsuite name="login.spec.ts" hostname="chromium" tests="2">${pass('logs in')}${pass('logs out')}</testsuite>` +
          `<testsuite name="login.spec.ts" hostname="webkit" tests="2">${fail('logs in')}${pass('logs out')}</testsuite></testsuites>`,
      );
      assert.deepEqual(outcomes((await readJUnitFiles([playwright])).tests), { passed: 3, failed: 1 }, 'a WebKit-only failure is a failure, not a flaky test');
      // mocha and NUnit: two failing tests of one title in one suite that counts both.
      const duplicates = dir.write('mocha.xml', `<testsuite name="Division" tests="3">${fail('divides by zero')}${fail('divides by zero')}${pass('divides')}</testsuite>`);
      assert.deepEqual(outcomes((await readJUnitFiles([duplicates])).tests), { failed: 2, passed: 1 });
      // gotestsum --rerun-fails: the rerun is a test case more than the suite counts.
      const rerun = dir.write('go.xml', `<testsuite name="pkg" tests="2">${fail('TestA', 'flaky_test.go:9: boom')}${pass('TestB')}${pass('TestA')}</testsuite>`);
      assert.deepEqual(outcomes((await readJUnitFiles([rerun])).tests), { flaky: 1, passed: 1 });
      const undeclared = dir.write('go-undeclared.xml', `<testsuite name="pkg">${fail('TestA', 'flaky_test.go:9: boom')}${pass('TestA')}</testsuite>`);
      assert.deepEqual(outcomes((await readJUnitFiles([undeclared])).tests), { flaky: 1 });
    });
  });

  it('a suite that reports an error but holds no test case (Newman, request not sent) is one errored entry with its output', async () => {
    await withReports(async (dir) => {
      const file = dir.write(
        'newman.xml',
        `<testsuites tests="2"><testsuite name="GET /items" tests="0" errors="1"><system-err>RequestError: connect ECONNREFUSED 127.0.0.1:3000</system-err></testsuite>` +
          `<testsuite name="GET /health" tests="1"><testcase classname="api" name="status is 200"/></testsuite></testsuites>`,
      );
      const { tests } = await readJUnitFiles([file]);
      assert.deepEqual(outcomes(tests), { errored: 1, passed: 1 });
      assert.equal(byId(tests, 'GET /items::(suite error)').failure?.message, 'RequestError: connect ECONNREFUSED 127.0.0.1:3000');
    });
  });

  it('counts pending tests that mocha-junit-reporter counts but does not write, as skipped', async () => {
    await withReports(async (dir) => {
      const file = dir.write(
        'pending.xml',
        `<testsuites tests="4" skipped="2"><testsuite name="a" tests="3"><testcase classname="a" name="x"/></testsuite>` +
          `<testsuite name="b" tests="1"><testcase classname="b" name="y"/></testsuite></testsuites>`,
      );
      assert.deepEqual(outcomes((await readJUnitFiles([file])).tests), { passed: 2, skipped: 2 });
    });
  });

  it('counts several errors of one test case where the suite counts them (pytest), once where it does not (jest-junit)', async () => {
    await withReports(async (dir) => {
      const errors = '<error message="collection failure">E1</error><error message="collection failure">E2</error><error message="collection failure">E3</error>';
      const pytest = dir.write('pytest.xml', `<testsuite name="pytest" tests="4" errors="3"><testcase classname="" name="tests.api">${errors}</testcase><testcase classname="t" name="ok"/></testsuite>`);
      assert.deepEqual(outcomes((await readJUnitFiles([pytest])).tests), { errored: 3, passed: 1 });
      const failures = '<failure>Error: expect(received)</failure><failure>Error: afterEach hook</failure>';
      const jest = dir.write('jest.xml', `<testsuite name="AuthService" tests="2" failures="1"><testcase classname="a" name="x">${failures}</testcase><testcase classname="a" name="y"/></testsuite>`);
      assert.deepEqual(outcomes((await readJUnitFiles([jest])).tests), { failed: 1, passed: 1 });
    });
  });

  it('raw ANSI escapes and control characters in system-out neither break the report nor survive', async () => {
    await withReports(async (dir) => {
      const file = dir.write(
        'ansi.xml',
        `<testsuite name="s" tests="2"><testcase classname="c" name="green"><system-out>\x1b[32m✓ ok\x1b[0m\x08\x00</system-out></testcase>` +
          `<testcase classname="c" name="red"><failure message="boom">\x1b[31mAssertionError: boom\x1b[0m</failure><system-out>\x1b[1mlog\x07</system-out></testcase></testsuite>`,
      );
      const { tests, warnings } = await readJUnitFiles([file]);
      assert.deepEqual(warnings, []);
      assert.deepEqual(outcomes(tests), { passed: 1, failed: 1 }, 'no invented "(report cut off)" test');
      const red = byId(tests, 'c::red');
      assert.equal(red.failure?.body, 'AssertionError: boom');
      assert.ok(!/[\x00-\x08\x0B-\x1F]/.test(red.output + red.failure!.body));
      // An ANSI sequence split across two 64 KB chunks is removed whole.
      const split = dir.write('split.xml', `<testsuite name="s"><testcase classname="c" name="t"><failure>${'x'.repeat(65536 - 60)}\x1b[31mred</failure></testcase></testsuite>`);
      assert.ok(!(await readJUnitFiles([split])).tests[0].failure!.body.includes('[31m'));
    });
  });

  it('decodes UTF-16 with a byte order mark and a declared ISO-8859-1', async () => {
    await withReports(async (dir) => {
      const xml = '<?xml version="1.0" encoding="UTF-16"?><testsuite name="s"><testcase classname="c" name="café"><failure message="déjà vu"/></testcase></testsuite>';
      const utf16 = dir.write('utf16.xml', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, 'utf16le')]));
      const latin1 = dir.write('latin1.xml', Buffer.from(xml.replace('UTF-16', 'ISO-8859-1'), 'latin1'));
      for (const file of [utf16, latin1]) {
        const { tests } = await readJUnitFiles([file]);
        assert.equal(byId(tests, 'c::café').failure?.message, 'déjà vu', file);
      }
    });
  });

  it('stops at the first kilobytes of a stream that is not XML, and refuses a report over the size limit', async () => {
    const started = Date.now();
    await assert.rejects(readJUnitFiles(['/dev/zero']), (e: unknown) => e instanceof LoopError && /\/dev\/zero is not a JUnit XML report/.test(e.message));
    assert.ok(Date.now() - started < 2000, 'read to its end');
    await withReports(async (dir) => {
      const huge = dir.write('huge.xml', '<testsuite>');
      fs.truncateSync(huge, MAX_REPORT_BYTES + 1); // sparse: no gigabyte written
      await assert.rejects(readJUnitFiles([huge]), (e: unknown) => e instanceof LoopError && /huge\.xml is larger than the 1 GiB limit/.test(e.message));
    });
  });

  it('parses times with thousands separators and decimal commas', () => {
    assert.equal(parseSeconds('1,234.5'), 1234.5);
    assert.equal(parseSeconds('0,25'), 0.25);
    assert.equal(parseSeconds(undefined), 0);
    assert.equal(parseSeconds('nan'), 0);
  });

  it('reads a plain decimal time to the same double as parseFloat, and other forms as before', () => {
    const plain = ['0.01', '12.345', '5.', '.5', '0.1', '0.3', '9007199254.740991', '123456789012345', '0.000000000000001'];
    for (let i = 1; i < 5000; i++) plain.push((i / 7).toFixed(i % 10), String(i * 0.1));
    for (const value of plain) assert.equal(parseSeconds(value), Number.parseFloat(value), value);
    for (const [value, seconds] of [[' 2.5', 2.5], ['1e3', 1000], ['2.5s', 2.5], ['-1', 0], ['0.0', 0], ['.', 0], ['1234567890123456.5', 1234567890123456.5]] as const) {
      assert.equal(parseSeconds(value), seconds, value);
    }
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
