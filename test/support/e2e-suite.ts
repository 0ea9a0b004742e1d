/**
 * A scripted staging e2e suite for the loop's tests: a real process that writes a real pytest-style
 * JUnit report to $JUNIT_XML. It fails the way the seed's suite did (24 of 25 tests: token
 * validation failed, no `jwt-auth` subprotocol) until a deploy has written $STAGING_DIR/deployed.
 *
 * Environment: STAGING_DIR (required); SUITE_SLEEP_MS (sleep first, writing the pid to
 * $STAGING_DIR/suite.pid: for cancellation tests); SUITE_TESTS (test count, default 25).
 * As a rerun of failed tests ($FAILED_TESTS set), it runs only those, and the even-numbered ones pass:
 * flaky tests. With SUITE_LEAK set it leaks $E2E_TOKEN into its output and failure messages, as
 * careless suites do.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.STAGING_DIR!;
const junit = process.env.JUNIT_XML!;
const tests = Number(process.env.SUITE_TESTS ?? 25);
const sleepMs = Number(process.env.SUITE_SLEEP_MS ?? 0);

const leaked = process.env.SUITE_LEAK ? ` (sent Authorization: ${process.env.E2E_TOKEN}, token=${process.env.E2E_TOKEN})` : '';
const FAILURE =
  'AssertionError: WebSocket welcome message: {"type": "error_message", "error_code": "VALIDATION_FAILED", ' +
  `"error_message": "Token validation failed | Debug: 373 chars, 2 dots", "websocket_protocol": "[MISSING]"}${leaked}`;

const CLASSNAME = 'tests.e2e.staging.test_priority1_critical';
const rerun = process.env.FAILED_TESTS?.split('\n').filter(Boolean) ?? null;

function report(fixed: boolean): string {
  const cases: string[] = [];
  let failures = 0;
  for (let i = 1; i <= tests; i++) {
    const name = `test_${String(i).padStart(3, '0')}_websocket_${i === 4 ? 'concurrent_connections' : 'flow'}_real`;
    if (rerun && !rerun.includes(`${CLASSNAME}::${name}`)) continue;
    const failing = !fixed && i !== 4 && !(rerun && i % 2 === 0);
    if (failing) failures++;
    cases.push(
      `<testcase classname="${CLASSNAME}" name="${name}" time="${(0.5 + (i % 7) * 0.3).toFixed(3)}">` +
        (failing ? `<failure message="${FAILURE.replace(/"/g, '&quot;')}">tests/e2e/staging/test_priority1_critical.py:${100 + i}: AssertionError</failure>` : '') +
        '</testcase>',
    );
  }
  return (
    '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" ' +
    `failures="${failures}" skipped="0" tests="${cases.length}" time="12.3">${cases.join('')}</testsuite></testsuites>\n`
  );
}

async function main() {
  if (sleepMs) {
    writeFileSync(join(dir, 'suite.pid'), String(process.pid));
    await new Promise((r) => setTimeout(r, sleepMs));
  }
  const fixed = existsSync(join(dir, 'deployed'));
  writeFileSync(junit, report(fixed));
  if (leaked) console.log(`connecting with headers {"Authorization": "Bearer ${process.env.E2E_TOKEN}"}`);
  console.log(`${fixed ? 'all passed' : 'failures'}: ${tests} tests`);
  process.exit(fixed ? 0 : 1);
}

void main();
