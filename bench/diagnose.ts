/**
 * Benchmark of the diagnosis engine.
 *
 * 1. A ~10 MB, 20,000-testcase JUnit file (mostly passes, a few failing root causes with varying
 *    ids, ports and tokens): parse + cluster + categorise against a bare saxes streaming parse of the
 *    same file in the same process, wall and CPU time. Target <= 1.2x the bare parse. Both read the
 *    file in the reader's chunk size, are warmed up alike (runs discarded, alternated) and are
 *    compared by their medians; the same pair is also timed once each in fresh processes.
 * 2. 1,000,000 testcases in a fresh process: time and peak RSS. Target < 2 s and < 300 MB.
 * 3. Every input dimension linear: a test name of 320 KB and 1.28 MB, a failure message of 5 MB and
 *    20 MB cost milliseconds, and four times the input about four times the time.
 *
 * On a machine shared with other work, wall time swings; CPU time (this process, all threads) is
 * printed beside it.
 *
 * Run: node dist/bench/diagnose.js [--cases 20000] [--runs 20] [--million 1000000]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { diagnose } from '../src/diagnosis';
import { READ_CHUNK_BYTES } from '../src/diagnosis/junit';
import { SaxesParser } from 'saxes';

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

/**
 * The floor the issue measures against: a bare saxes parse of the same file, in the reader's chunk
 * size, decoded by the stream as the reader decodes (StringDecoder), with a text listener (a reader
 * of failures needs one, and saxes builds text only for it), counting testcases.
 */
async function bareParse(file: string): Promise<number> {
  let cases = 0;
  const parser = new SaxesParser({ fileName: file });
  parser.on('opentag', (tag) => {
    if (tag.name === 'testcase') cases++;
  });
  parser.on('text', () => undefined);
  await new Promise<void>((resolve, reject) => {
    const stream = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: READ_CHUNK_BYTES });
    stream.on('data', (chunk) => parser.write(chunk as string));
    stream.on('error', reject);
    stream.on('end', () => resolve());
  });
  parser.close();
  return cases;
}

/** Wall and CPU milliseconds of `fn`. */
async function time<T>(fn: () => Promise<T>): Promise<[number, number, T]> {
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  const value = await fn();
  const used = process.cpuUsage(cpu);
  return [Number(process.hrtime.bigint() - started) / 1e6, (used.user + used.system) / 1000, value];
}

/** A report of `cases` passing testcases, 100 a suite, with a few failures: what a huge green-ish run looks like. */
function writeMillion(file: string, cases: number): void {
  const out = fs.openSync(file, 'w');
  fs.writeSync(out, '<?xml version="1.0" encoding="utf-8"?>\n<testsuites>\n');
  for (let suite = 0; suite < cases / 100; suite++) {
    let chunk = `<testsuite name="suite_${suite}" tests="100">\n`;
    for (let i = suite * 100; i < suite * 100 + 100; i++) {
      chunk += i % 10_000 === 3 ? `<testcase classname="pkg.m${suite}.T" name="t${i}" time="0.01"><failure message="expected 200 but got 500"/></testcase>\n` : `<testcase classname="pkg.m${suite}.T" name="t${i}" time="0.01"/>\n`;
    }
    fs.writeSync(out, `${chunk}</testsuite>\n`);
  }
  fs.writeSync(out, '</testsuites>\n');
  fs.closeSync(out);
}

/** One failing test whose name is `nameChars` long and whose message and body are `messageChars` long. */
function writeHuge(file: string, nameChars: number, messageChars: number): void {
  const message = 'AssertionError: expected 200 but got 500 ' + 'x1 '.repeat(Math.ceil(messageChars / 3));
  fs.writeFileSync(
    file,
    `<testsuite name="s"><testcase classname="c" name="${'n'.repeat(nameChars)}"><failure message="${message}">${message}</failure><system-out>${'log line\n'.repeat(messageChars / 9)}</system-out></testcase></testsuite>`,
  );
}

/** Peak RSS (MB), wall and CPU time (ms) of one run in a fresh process, so the benchmark's own allocations do not count. */
function freshRun(mode: 'bare' | 'full', file: string): { rssMb: number; ms: number; cpuMs: number } {
  const child = spawnSync(process.execPath, [__filename, '--child', mode, file], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`child ${mode} failed: ${child.stderr}`);
  const [kb, ms, cpuMs] = child.stdout.trim().split(' ').map(Number);
  return { rssMb: kb / 1024, ms, cpuMs };
}

async function child(mode: string, file: string): Promise<void> {
  const [ms, cpuMs] = await time(() => (mode === 'bare' ? bareParse(file) : diagnose([file]).then((d) => d.tests.total)));
  // maxRSS is in kilobytes.
  console.log(`${process.resourceUsage().maxRSS} ${ms} ${cpuMs}`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs of each that are not measured: the first ones compile and tune the code of both. */
const WARM_UP = 3;

async function main(): Promise<void> {
  const cases = arg('--cases', 20_000);
  // 20 runs: with 5, the median of a ~100 ms step on a loaded 2-core machine swings by ±5%.
  const runs = arg('--runs', 20);
  const million = arg('--million', 1_000_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tdl-bench-'));
  const file = path.join(dir, 'junit.xml');
  try {
    writeReport(file, cases);
    const mb = fs.statSync(file).size / 1e6;
    const [bareWall, bareCpu, fullWall, fullCpu]: number[][] = [[], [], [], []];
    let summary = '';
    // Alternate the two so that warm-up and GC fall on both alike.
    for (let run = 0; run < WARM_UP + runs; run++) {
      // No forced collection between them: it shrinks the heap, and the next run then pays for
      // growing it again, with a full collection per 1 MB chunk (a large object each); saxes, which
      // allocates more, paid three times its own cost that way. Each pays for its own garbage.
      const [bw, bc, counted] = await time(() => bareParse(file));
      const [fw, fc, d] = await time(() => diagnose([file]));
      if (counted !== d.tests.total) throw new Error(`bare parse saw ${counted} testcases, diagnose ${d.tests.total}`);
      if (run < WARM_UP) continue;
      bareWall.push(bw);
      bareCpu.push(bc);
      fullWall.push(fw);
      fullCpu.push(fc);
      summary = `${d.tests.total} tests, ${d.tests.failed} failed in ${d.clusters.length} clusters (${d.clusters.map((c) => `${c.category} ${c.count}`).join(', ')}), verdict ${d.verdict}`;
    }
    const [bare, full] = [freshRun('bare', file), freshRun('full', file)];
    const [b, f, bc, fc] = [median(bareWall), median(fullWall), median(bareCpu), median(fullCpu)];
    console.log(`file: ${mb.toFixed(1)} MB, ${cases} testcases, read in ${READ_CHUNK_BYTES / 1024} KB chunks`);
    console.log(summary);
    console.log(`in this process, median of ${runs} after ${WARM_UP} warm-up runs each:`);
    console.log(`bare saxes parse:                    ${b.toFixed(0)} ms wall, ${bc.toFixed(0)} ms CPU`);
    console.log(`parse + cluster + categorise:        ${f.toFixed(0)} ms wall, ${fc.toFixed(0)} ms CPU`);
    console.log(`ratio:                               ${(f / b).toFixed(2)}x wall, ${(fc / bc).toFixed(2)}x CPU  target <= 1.2x`);
    console.log('each once in a fresh process (cold: includes compiling the code):');
    console.log(`bare saxes parse:                    ${bare.ms.toFixed(0)} ms wall, ${bare.cpuMs.toFixed(0)} ms CPU, peak RSS ${bare.rssMb.toFixed(0)} MB`);
    console.log(`diagnose:                            ${full.ms.toFixed(0)} ms wall, ${full.cpuMs.toFixed(0)} ms CPU, peak RSS ${full.rssMb.toFixed(0)} MB  target < 150 MB`);
    console.log(`ratio:                               ${(full.ms / bare.ms).toFixed(2)}x wall, ${(full.cpuMs / bare.cpuMs).toFixed(2)}x CPU`);

    writeMillion(file, million);
    const [bareM, fullM] = [freshRun('bare', file), freshRun('full', file)];
    console.log(`\n${million} testcases (${(fs.statSync(file).size / 1e6).toFixed(0)} MB), fresh processes:`);
    console.log(`bare saxes parse:                    ${bareM.ms.toFixed(0)} ms (${bareM.cpuMs.toFixed(0)} ms CPU), peak RSS ${bareM.rssMb.toFixed(0)} MB`);
    console.log(`diagnose:                            ${fullM.ms.toFixed(0)} ms (${fullM.cpuMs.toFixed(0)} ms CPU), peak RSS ${fullM.rssMb.toFixed(0)} MB  target < 2000 ms, < 300 MB`);

    console.log('\none failing test with a huge name / message (diagnose, ms; x4 input should be about x4 time):');
    for (const [label, name1, message1] of [
      ['test name 320 KB -> 1.28 MB', 320 * 1024, 1000],
      ['failure message 5 MB -> 20 MB', 100, 5 * 1024 * 1024],
    ] as const) {
      const times = [1, 4].map((k) => {
        writeHuge(file, name1 * (label.startsWith('test') ? k : 1), message1 * (label.startsWith('test') ? 1 : k));
        return freshRun('full', file).ms;
      });
      console.log(`${label.padEnd(36)} ${times[0].toFixed(0)} ms -> ${times[1].toFixed(0)} ms`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const childAt = process.argv.indexOf('--child');
(childAt > 0 ? child(process.argv[childAt + 1], process.argv[childAt + 2]) : main()).catch((e: Error) => {
  console.error(`bench failed: ${e.message}`);
  process.exit(1);
});
