/**
 * A scripted e2e suite that can select tests, for failed-first and verify-then-promote: a real process
 * writing a real JUnit report to $JUNIT_XML. Its tests pass once the commit serving them is one of
 * $FIXED_BY; that commit is what `$STAGING_URL/version` (or `$SERVICE_URL/version`) answers, or else
 * the file $STAGING_DIR/deployed. With $FAILED_TESTS it runs only those ids.
 *
 * Environment: STAGING_DIR (required: each run appends "<full|selected> <tests> <url>" to runs.log);
 * FIXED_BY (commas); SUITE_TESTS (default 25); FAIL_EVERY (tests n*FAIL_EVERY fail; default: all but
 * test 4, as in the seed); SUITE_TEST_MS (each test's time); CANDIDATE_SLEEP_MS (with $STAGING_URL:
 * sleep first, the pid in $STAGING_DIR/candidate.pid, the first time only).
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const env = process.env;
const dir = env.STAGING_DIR!;
const tests = Number(env.SUITE_TESTS ?? 25);
const failEvery = Number(env.FAIL_EVERY ?? 0);
const testMs = Number(env.SUITE_TEST_MS ?? 0);
const selected = env.FAILED_TESTS ? new Set(env.FAILED_TESTS.split('\n').filter(Boolean)) : null;
const CLASSNAME = 'tests.e2e.staging.test_api';

async function servingCommit(): Promise<string> {
  const url = env.STAGING_URL ?? env.SERVICE_URL;
  if (url) {
    const res = await fetch(`${url.replace(/\/$/, '')}/version`);
    return res.ok ? (await res.text()).trim() : `HTTP ${res.status}`;
  }
  const file = join(dir, 'deployed');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : 'none';
}

async function main() {
  // Once: a retried run (after its worker was killed) goes straight on.
  if (env.STAGING_URL && env.CANDIDATE_SLEEP_MS && !existsSync(join(dir, 'candidate.pid'))) {
    writeFileSync(join(dir, 'candidate.pid'), String(process.pid));
    await new Promise((r) => setTimeout(r, Number(env.CANDIDATE_SLEEP_MS)));
  }
  const commit = await servingCommit();
  const fixed = (env.FIXED_BY ?? '').split(',').includes(commit);
  const cases: string[] = [];
  let failures = 0;
  for (let i = 1; i <= tests; i++) {
    const name = `test_${String(i).padStart(4, '0')}`;
    if (selected && !selected.has(`${CLASSNAME}::${name}`)) continue;
    const failing = !fixed && (failEvery ? i % failEvery === 0 : i !== 4);
    if (failing) failures++;
    cases.push(
      `<testcase classname="${CLASSNAME}" name="${name}" time="${(testMs / 1000).toFixed(3)}">` +
        (failing ? `<failure message="AssertionError: expected 200 from the API, got 401 (served by ${commit})">test_api.py:${i}: AssertionError</failure>` : '') +
        '</testcase>',
    );
  }
  if (testMs) await new Promise((r) => setTimeout(r, testMs * cases.length));
  writeFileSync(
    env.JUNIT_XML!,
    `<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="${failures}" skipped="0" tests="${cases.length}">${cases.join('')}</testsuite></testsuites>\n`,
  );
  appendFileSync(join(dir, 'runs.log'), `${selected ? 'selected' : 'full'} ${cases.length} ${env.STAGING_URL ?? env.SERVICE_URL ?? 'file'}\n`);
  process.exit(failures ? 1 : 0);
}

void main();
