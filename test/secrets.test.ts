/**
 * A suite that leaks its token into output and failure messages: the token reaches none of the
 * loop's outputs (workflow history, status, report, report files, suite log, notifications); it
 * shows only as its fingerprint.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import * as messages from '../src/workflows/messages';
import { loopInput, stagingDir } from './support/loop-input';
import { eventually, workerPerTest } from './support/temporal';

// A JWT-shaped token of 373 characters like the seed's, and what it looks like encoded.
const TOKEN = `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.${'eyJzdWIiOiJlMmUifQ'.padEnd(292, 'x')}.${'s'.repeat(43)}`;
const FORMS = [TOKEN, Buffer.from(TOKEN).toString('base64'), TOKEN.slice(40, 120)];

function assertClean(where: string, text: string): void {
  for (const form of FORMS) assert.ok(!text.includes(form), `${where} contains the token (${form.slice(0, 16)}…)`);
}

describe('secrets in a leaky suite', function () {
  const { start, current } = workerPerTest();
  const saved = process.env.E2E_TOKEN;

  before(function () {
    // The worker's environment holds the token; the suite inherits it.
    process.env.E2E_TOKEN = TOKEN;
  });
  after(function () {
    if (saved === undefined) delete process.env.E2E_TOKEN;
    else process.env.E2E_TOKEN = saved;
  });

  it('never reach history, status, reports, logs or notifications', async function () {
    const received: string[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push(body);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    try {
      const input = loopInput(stagingDir(), {
        handoff: { webhookUrl: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook` },
        probes: { jwt: { tokenEnv: 'E2E_TOKEN' } },
      });
      (input.suite as { env: Record<string, string> }).env.SUITE_LEAK = '1';
      const handle = await start(input);
      const status = await eventually(async () => {
        const s = await handle.query(messages.status);
        return s.phase === 'awaiting-fix' && received.length > 0 ? s : undefined;
      }, 'awaiting-fix and the fix team told');
      await handle.cancel();
      await handle.result().catch(() => undefined);

      const statusJson = JSON.stringify(status);
      assertClean('status', statusJson);
      assertClean('the report query', await handle.query(messages.report));
      const history = Buffer.from(temporal.api.history.v1.History.encode(await handle.fetchHistory()).finish()).toString('latin1');
      assertClean('workflow history', history);
      assertClean('the fix team notification', received.join('\n'));
      const loopDir = join(current().reportsDir, handle.workflowId);
      const files = readdirSync(loopDir, { recursive: true, encoding: 'utf8' }).filter((f) => !f.endsWith('junit.xml'));
      assert.ok(files.includes(join('cycle-1', 'suite-output.log')) && files.includes('loop-report.md'));
      for (const f of files.filter((name) => name.includes('.'))) assertClean(f, readFileSync(join(loopDir, f), 'utf8'));
      assert.match(readFileSync(join(loopDir, 'cycle-1', 'suite-output.log'), 'utf8'), /connecting with headers \{"Authorization": "Bearer \[token len=373 dots=2 eyJhbGciOiJI…s{8} bearer=no\]"\}/);
      // The JWT probe describes the token by its fingerprint only.
      assert.match(readFileSync(join(loopDir, 'cycle-1', 'report.md'), 'utf8'), /\[token len=373 dots=2 eyJhbGciOiJI…s{8} bearer=no\]/);
    } finally {
      await new Promise((r) => hook.close(r));
    }
  });
});
