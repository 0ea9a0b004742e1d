/**
 * The demo's staging e2e suite: real WebSocket connections to the example staging service, a
 * pytest-style JUnit report at $JUNIT_XML. Like the seed's suite, its client sends the token but
 * not the `jwt-auth` subprotocol until the fix team adds it to client.json.
 *
 * Environment: STAGING_URL (http base), E2E_JWT (the token), CLIENT_CONFIG (client.json path).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import WebSocket from 'ws';

interface ClientConfig {
  subprotocols: string[];
}

interface Outcome {
  name: string;
  seconds: number;
  failure: string | null;
}

const base = process.env.STAGING_URL!;
const wsUrl = `${base.replace(/^http/, 'ws')}/ws`;
const token = process.env.E2E_JWT!;
const client = JSON.parse(readFileSync(process.env.CLIENT_CONFIG!, 'utf8')) as ClientConfig;

/** Opens a socket as the app's client does and returns the server's first message. */
function welcome(): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, client.subprotocols, { headers: { Authorization: `Bearer ${token}` }, handshakeTimeout: 5000 });
    ws.once('message', (data) => {
      resolve(data.toString());
      ws.close();
    });
    ws.once('unexpected-response', (_req, res) => reject(new Error(`WebSocket upgrade answered HTTP ${res.statusCode}`)));
    ws.once('close', (code, reason) => reject(new Error(`WebSocket closed during setup: ${code} ${reason.toString()}`)));
    ws.once('error', reject);
  });
}

async function websocketTest(): Promise<void> {
  const message = await welcome();
  if (JSON.parse(message).type === 'error_message') throw new Error(`AssertionError: WebSocket welcome message: ${message}`);
}

async function healthTest(): Promise<void> {
  const res = await fetch(`${base}/health`);
  if (res.status !== 200) throw new Error(`AssertionError: GET /health answered ${res.status}: ${await res.text()}`);
}

const NAMES = ['connection', 'authentication', 'message_send', 'concurrent_connections', 'agent_discovery'];

async function main() {
  const outcomes: Outcome[] = [];
  for (let i = 1; i <= 25; i++) {
    const kind = NAMES[(i - 1) % NAMES.length];
    const started = Date.now();
    let failure: string | null = null;
    try {
      await (i === 4 ? healthTest() : websocketTest());
    } catch (err) {
      failure = (err as Error).message;
    }
    outcomes.push({ name: `test_${String(i).padStart(3, '0')}_${i === 4 ? 'health_endpoint' : `websocket_${kind}`}_real`, seconds: (Date.now() - started) / 1000, failure });
  }
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  const failures = outcomes.filter((o) => o.failure).length;
  const cases = outcomes.map(
    (o) =>
      `  <testcase classname="tests.e2e.staging.test_priority1_critical" name="${o.name}" time="${o.seconds.toFixed(3)}">` +
      (o.failure ? `<failure message="${esc(o.failure)}">${esc(o.failure)}</failure>` : '') +
      '</testcase>',
  );
  writeFileSync(
    process.env.JUNIT_XML!,
    `<?xml version="1.0" encoding="utf-8"?>\n<testsuites><testsuite name="pytest" tests="${outcomes.length}" failures="${failures}" errors="0" skipped="0">\n${cases.join('\n')}\n</testsuite></testsuites>\n`,
  );
  console.log(`${outcomes.length - failures} passed, ${failures} failed`);
  process.exit(failures ? 1 : 0);
}

void main();
