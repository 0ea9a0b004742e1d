/**
 * A hostile report against a shared worker, on a real dev server and a real `tdl worker` process.
 *
 * 1. Redaction time of hostile text shapes at 40 KB and 320 KB (linear: a ratio of about 8).
 * 2. Five ordinary loops wait for a fix; then one loop's suite prints `--output-mb` MB (default 8) and
 *    writes a JUnit report whose failing testcase has a `--name-kb` KB name (default 320, `a.a.a.…`).
 *    While that loop runs and diagnoses, the bench queries the other loops' `status` without pause
 *    and prints the latency (p50/p99/max), and the worker process's peak RSS.
 * Targets: every query answered within 1 s; the worker under 300 MB.
 *
 * Usage: node dist/bench/hostile.js [--output-mb 8] [--name-kb 320]
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import { redact } from '../src/diagnosis/redact';
import * as messages from '../src/workflows/messages';
import { HOSTILE_SHAPES, hostileText, timePair } from '../test/support/hostile';
import { memoryMb, withWorkerProcess } from './worker-process';

const ROOT = resolve(__dirname, '..', '..');
const E2E_SUITE = join(ROOT, 'dist', 'test', 'support', 'e2e-suite.js');
const ORDINARY_LOOPS = 5;

function redactionTimes(): string[] {
  const rows = ['redaction of hostile text: 40 KB -> 320 KB (ratio; linear is about 8)'];
  for (const [name, unit] of Object.entries(HOSTILE_SHAPES)) {
    const small = hostileText(unit, 40_000);
    const large = hostileText(unit, 320_000);
    const { smallMs, largeMs } = timePair(() => redact(small), () => redact(large));
    rows.push(`  ${name.padEnd(26)} ${smallMs.toFixed(2).padStart(7)} ms -> ${largeMs.toFixed(2).padStart(7)} ms (${(largeMs / smallMs).toFixed(1)}x)`);
  }
  return rows;
}

/** A suite that floods stdout with `outputMb` MB and writes a failing testcase named with `nameKb` KB of `a.a.a.`. */
function hostileSuite(dir: string, outputMb: number, nameKb: number): string {
  const path = join(dir, 'hostile-suite.js');
  writeFileSync(
    path,
    `const fs = require('fs');
const name = 'a.'.repeat(${nameKb} * 512);
fs.writeFileSync(process.env.JUNIT_XML, '<testsuite name="hostile"><testcase classname="hostile" name="' + name + '"><failure message="AssertionError: ' + name + '">' + name + '</failure></testcase><testcase classname="hostile" name="ok"/></testsuite>');
const line = 'flood '.repeat(170) + '\\n';
for (let written = 0; written < ${outputMb} * 1024 * 1024; written += line.length) fs.writeSync(1, line);
process.exit(1);
`,
  );
  return `node ${path}`;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];

function latencyLine(label: string, ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  return `  ${label.padEnd(34)} ${String(s.length).padStart(5)} queries: p50 ${percentile(s, 50).toFixed(0)} ms, p99 ${percentile(s, 99).toFixed(0)} ms, max ${s[s.length - 1].toFixed(0)} ms`;
}

async function waitFor<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function main() {
  const { values } = parseArgs({ options: { 'output-mb': { type: 'string', default: '8' }, 'name-kb': { type: 'string', default: '320' } } });
  const [outputMb, nameKb] = [Number(values['output-mb']), Number(values['name-kb'])];
  for (const row of redactionTimes()) console.log(row);
  await withWorkerProcess('hostile', {}, async ({ env, taskQueue, dir, worker }) => {
    const start = (name: string, suite: Record<string, unknown>): Promise<WorkflowHandle> =>
      env.client.workflow.start(messages.WORKFLOW_TYPE, { taskQueue, workflowId: `${name}-${randomUUID()}`, args: [{ name, suite, maxCycles: 2 }] });
    const staging = mkdtempSync(join(tmpdir(), 'tdl-bench-staging-'));
    const ordinary = await Promise.all(
      Array.from({ length: ORDINARY_LOOPS }, (_, i) => start(`ordinary-${i}`, { command: `node ${E2E_SUITE}`, env: { STAGING_DIR: staging }, timeout: '2m' })),
    );
    for (const h of ordinary) await waitFor(async () => ((await h.query(messages.status)).phase === 'awaiting-fix' ? true : undefined), 'an ordinary loop waiting for a fix');

    const hostile = await start('hostile', { command: hostileSuite(dir, outputMb, nameKb), timeout: '5m' });
    const byPhase = new Map<string, number[]>();
    const started = Date.now();
    let phase = 'testing';
    let diagnosingMs = 0;
    let i = 0;
    // Query the ordinary loops one after the other until the hostile loop has been diagnosed.
    while (phase === 'testing' || phase === 'diagnosing') {
      const t = performance.now();
      await ordinary[i++ % ORDINARY_LOOPS].query(messages.status);
      const ms = performance.now() - t;
      const seen = (await hostile.query(messages.status)).phase;
      if (seen === 'diagnosing' && phase !== 'diagnosing') diagnosingMs = Date.now();
      if (seen !== 'diagnosing' && phase === 'diagnosing') diagnosingMs = Date.now() - diagnosingMs;
      if (!byPhase.has(phase)) byPhase.set(phase, []);
      byPhase.get(phase)!.push(ms);
      phase = seen;
      if (Date.now() - started > 300_000) throw new Error(`the hostile loop is still ${phase} after 5 min`);
    }
    const s = await hostile.query(messages.status);
    console.log(`hostile loop (${outputMb} MB of output, a ${nameKb} KB testcase name): ${((Date.now() - started) / 1000).toFixed(1)} s to ${s.phase}, diagnosing ${(diagnosingMs / 1000).toFixed(1)} s`);
    console.log(`worker process peak RSS: ${memoryMb(worker.pid!, 'VmHWM').toFixed(0)} MB (target: < 300 MB)`);
    console.log(`other loops' status query latency while it runs (${ORDINARY_LOOPS} loops, one worker process; target: max < 1000 ms)`);
    for (const [p, ms] of byPhase) console.log(latencyLine(`while the hostile loop is ${p}`, ms));
    console.log(latencyLine('overall', [...byPhase.values()].flat()));
    for (const h of [...ordinary, hostile]) await h.cancel().catch(() => undefined);
    await Promise.all([...ordinary, hostile].map((h) => h.result().catch(() => undefined)));
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
