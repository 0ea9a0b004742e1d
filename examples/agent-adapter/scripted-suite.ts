/**
 * The scripted application the scripted agents fix, and its staging suite: app.json says which
 * features work; the suite writes a real pytest-style JUnit report to $JUNIT_XML with a distinct
 * root cause per broken feature, against the app.json deployed to $STAGING_DIR.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface App {
  subprotocol: boolean;
  cartTotal: boolean;
  checkout: boolean;
}

/** Each feature, the text its failures carry (what the agent recognises), its failure. */
export const FEATURES: { name: keyof App; marker: string; failure: string }[] = [
  {
    name: 'subprotocol',
    marker: 'websocket_protocol',
    failure: 'AssertionError: WebSocket welcome message: {"error_code": "VALIDATION_FAILED", "websocket_protocol": "[MISSING]"}',
  },
  { name: 'cartTotal', marker: 'cart total', failure: 'AssertionError: cart total: expected 3 items, got 2' },
  { name: 'checkout', marker: 'Cannot read properties', failure: "TypeError: Cannot read properties of undefined (reading 'id')" },
];

/** The application before anyone fixed it: two broken features, checkout working. */
export const BROKEN_APP: App = { subprotocol: false, cartTotal: false, checkout: true };

const TESTS_PER_FEATURE = 4;

function main(): void {
  const app = JSON.parse(readFileSync(join(process.env.STAGING_DIR!, 'app.json'), 'utf8')) as App;
  const cases: string[] = [];
  let failures = 0;
  for (const f of FEATURES) {
    for (let i = 1; i <= TESTS_PER_FEATURE; i++) {
      const broken = !app[f.name];
      if (broken) failures++;
      const failure = broken ? `<failure message="${f.failure.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')}">tests/e2e/test_${f.name}.py:${10 * i}: error</failure>` : '';
      cases.push(`<testcase classname="tests.e2e.test_${f.name}" name="test_${f.name}_${i}" time="0.1">${failure}</testcase>`);
    }
  }
  writeFileSync(
    process.env.JUNIT_XML!,
    `<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="${failures}" skipped="0" tests="${cases.length}">${cases.join('')}</testsuite></testsuites>\n`,
  );
  process.exit(failures ? 1 : 0);
}

if (require.main === module) main();
