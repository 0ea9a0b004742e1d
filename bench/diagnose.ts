/**
 * Benchmark of the diagnosis engine: a ~10 MB, 20,000-testcase JUnit file (mostly passes, a few
 * failing root causes with varying ids, ports and tokens), parse + cluster + categorise, against a
 * bare saxes streaming parse of the same file in the same process. Prints the figures and the ratio.
 * Targets: < 300 ms, < 150 MB RSS, <= 1.5x the bare parse.
 *
 * Run: node dist/bench/diagnose.js [--cases 20000] [--runs 20]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SaxesParser } from 'saxes';
import { diagnose } from '../src/diagnosis';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

const FAILURES: ((i: number) => { message: string; body: string })[] = [
  (i) => ({
    message: `AssertionError: WebSocket welcome message was an error: {"type": "error_message", "error_code": "VALIDATION_FAILED", "error_message": "Token validation failed | Debug: 373 chars, 2 dots"}`,
    body: `tests/e2e/test_ws.py:${100 + i}: in test_ws_${i}\n    welcome = await ws_expect_welcome(ws)\nE   AssertionError: welcome was an error\nServer debug: {"websocket_protocol": "[MISSING]"}`,
  }),
  (i) => ({
    message: `httpx.ConnectError: [Errno 111] Connection refused (10.0.${i % 255}.7:${40000 + i})`,
    body: `tests/e2e/test_api.py:${50 + i}: in test_api_${i}\nE   httpx.ConnectError: [Errno 111] Connection refused`,
  }),
  (i) => ({
    message: `AssertionError: expected order ${i} total 42.50 but got ${i * 3}.00 (request ${i.toString(16).padStart(8, 'a')}-1111-4222-8333-444455556666)`,
    body: `tests/e2e/test_orders.py:${20 + i}: in test_order_${i}\nE   AssertionError: totals differ`,
  }),
  (i) => ({ message: `TimeoutError: page.waitForSelector: Timeout ${1000 + i}ms exceeded`, body: `    at tests/ui.spec.ts:${i}:5` }),
];

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

function writeReport(file: string, cases: number): void {
  const out = fs.openSync(file, 'w');
  fs.writeSync(out, `<?xml version="1.0" encoding="utf-8"?>\n<testsuites name="bench">\n`);
  for (let suite = 0; suite < cases / 100; suite++) {
    let chunk = `<testsuite name="suite_${suite}" tests="100" time="12.5">\n`;
    for (let j = 0; j < 100; j++) {
      const i = suite * 100 + j;
      const head = `<testcase classname="tests.e2e.module_${suite}.TestGroup" name="test_case_${i}_with_a_realistic_name" time="${(0.05 + (i % 97) / 10).toFixed(3)}"`;
      if (i % 10 === 3) {
        const f = FAILURES[Math.floor(i / 10) % FAILURES.length](i);
        chunk += `${head}>\n<failure message="${xml(f.message)}">${xml(f.body)}</failure>\n<system-out>${xml(`log line for ${i}\n`.repeat(8))}</system-out>\n</testcase>\n`;
      } else if (i % 50 === 7) {
        chunk += `${head}><skipped message="not on staging"/></testcase>\n`;
      } else {
        chunk += `${head}>\n<system-out>${xml(`step ${i} ok; fetched https://api.staging.example/items/${i}?page=2 in ${i % 90} ms\n`.repeat(4))}</system-out>\n</testcase>\n`;
      }
    }
    fs.writeSync(out, `${chunk}</testsuite>\n`);
  }
  fs.writeSync(out, '</testsuites>\n');
  fs.closeSync(out);
}

/** The floor: saxes over the same chunks, counting testcases. */
async function bareParse(file: string): Promise<number> {
  let cases = 0;
  const parser = new SaxesParser();
  parser.on('opentag', (tag) => {
    if (tag.name === 'testcase') cases++;
  });
  parser.on('text', () => undefined);
  await new Promise<void>((resolve, reject) => {
    const stream = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 64 * 1024 });
    stream.on('data', (chunk) => parser.write(chunk as string));
    stream.on('error', reject);
    stream.on('end', () => resolve());
  });
  parser.close();
  return cases;
}

async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const started = process.hrtime.bigint();
  const value = await fn();
  return [Number(process.hrtime.bigint() - started) / 1e6, value];
}

/** Peak RSS of one run in a fresh process, so the benchmark's own allocations do not count. */
function peakRssOf(mode: 'bare' | 'full', file: string): number {
  const child = spawnSync(process.execPath, [__filename, '--child', mode, file], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`child ${mode} failed: ${child.stderr}`);
  return Number(child.stdout.trim()) / 1024;
}

async function child(mode: string, file: string): Promise<void> {
  if (mode === 'bare') await bareParse(file);
  else await diagnose([file]);
  // maxRSS is in kilobytes.
  console.log(process.resourceUsage().maxRSS);
}

v8.setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const cases = arg('--cases', 20_000);
  // 20 runs: with 5, the median of a ~100 ms step on a loaded 2-core machine swings by ±5%.
  const runs = arg('--runs', 20);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tdl-bench-'));
  const file = path.join(dir, 'junit.xml');
  try {
    writeReport(file, cases);
    const mb = fs.statSync(file).size / 1e6;
    const bare: number[] = [];
    const full: number[] = [];
    let summary = '';
    // Alternate the two so that warm-up and GC fall on both alike.
    for (let run = 0; run < runs + 1; run++) {
      // Each measurement starts from a collected heap, so neither pays for the other's garbage.
      collectGarbage();
      const [bareMs, counted] = await time(() => bareParse(file));
      collectGarbage();
      const [fullMs, d] = await time(() => diagnose([file]));
      if (counted !== d.tests.total) throw new Error(`bare parse saw ${counted} testcases, diagnose ${d.tests.total}`);
      if (run === 0) continue;
      bare.push(bareMs);
      full.push(fullMs);
      summary = `${d.tests.total} tests, ${d.tests.failed} failed in ${d.clusters.length} clusters (${d.clusters.map((c) => `${c.category} ${c.count}`).join(', ')}), verdict ${d.verdict}`;
    }
    const [bareRss, fullRss] = [peakRssOf('bare', file), peakRssOf('full', file)];
    const [b, f] = [median(bare), median(full)];
    console.log(`file: ${mb.toFixed(1)} MB, ${cases} testcases`);
    console.log(summary);
    console.log(`bare saxes parse:                    ${b.toFixed(0)} ms (median of ${runs})`);
    console.log(`parse + cluster + categorise:        ${f.toFixed(0)} ms (median of ${runs})  target < 300 ms`);
    console.log(`ratio:                               ${(f / b).toFixed(2)}x  target <= 1.5x`);
    console.log(`peak RSS, bare parse alone:          ${bareRss.toFixed(0)} MB (fresh process)`);
    console.log(`peak RSS, diagnose alone:            ${fullRss.toFixed(0)} MB (fresh process)  target < 150 MB`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const childAt = process.argv.indexOf('--child');
(childAt > 0 ? child(process.argv[childAt + 1], process.argv[childAt + 2]) : main()).catch((e: Error) => {
  console.error(`bench failed: ${e.message}`);
  process.exit(1);
});
