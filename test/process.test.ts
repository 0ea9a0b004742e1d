/**
 * runCommand with real shells and real processes: floods of output, a cap on the log, daemons that
 * hold the pipes or leave the process group, timeouts and cancellation. No Temporal here.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { logTail, maxOutputBytes, runCommand, type CommandRun, type CommandResult } from '../src/process';
import { processesOfRun, runIdIn } from './support/processes';
import { tempDir } from './support/temporal';

describe('runCommand', function () {
  let dir: string;
  let saved: string | undefined;
  beforeEach(() => {
    dir = tempDir('tdl-process-');
    saved = process.env.TDL_MAX_OUTPUT_BYTES;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.TDL_MAX_OUTPUT_BYTES;
    else process.env.TDL_MAX_OUTPUT_BYTES = saved;
  });

  const run = (command: string, more: Partial<CommandRun> = {}): Promise<CommandResult> =>
    runCommand({ command, cwd: dir, env: { ...process.env }, timeoutMs: 60_000, outputPath: join(dir, 'out.log'), signal: new AbortController().signal, ...more });

  it('keeps the log under TDL_MAX_OUTPUT_BYTES and says how much it dropped', async function () {
    process.env.TDL_MAX_OUTPUT_BYTES = '5M';
    // 50 MB in lines, then 3 MB in one line that never ends.
    const result = await run(`yes 'a line of suite output' | head -c 50000000; head -c 3000000 /dev/zero | tr '\\0' x`);
    assert.equal(result.exitCode, 0);
    const log = readFileSync(join(dir, 'out.log'), 'utf8');
    const [kept, note] = [log.slice(0, 5 * 1024 * 1024), log.slice(5 * 1024 * 1024)];
    assert.match(kept, /^(a line of suite output\n)+a line of su/);
    assert.equal(note, `\n[tdl] output beyond the 5 MiB cap (TDL_MAX_OUTPUT_BYTES): ${53_000_000 - 5 * 1024 * 1024} bytes dropped\n`);
  });

  it('heartbeats while the output floods, and stops the flood at its timeout', async function () {
    // 1 MB of long lines, over and over.
    writeFileSync(join(dir, 'chunk'), `${'z'.repeat(100_000)}\n`.repeat(10));
    let ticks = 0;
    const started = Date.now();
    const result = await run(`while :; do cat ${join(dir, 'chunk')}; done`, { timeoutMs: 2500, tickMs: 200, onTick: () => ticks++ });
    const took = Date.now() - started;
    assert.equal(result.timedOut, true);
    assert.ok(took < 2500 + 5000, `ended ${took} ms after it started`);
    assert.ok(ticks >= 8, `${ticks} ticks in ${took} ms`);
    assert.ok(statSync(join(dir, 'out.log')).size <= maxOutputBytes() + 200, 'the log stays under the cap');
  });

  it('does not wait for a daemon that holds its output, and stops the daemon', async function () {
    const started = Date.now();
    const result = await run(`echo "$TDL_RUN_ID"; setsid sleep 600 & echo done`);
    assert.equal(result.exitCode, 0);
    assert.ok(Date.now() - started < 8000, `finished after ${Date.now() - started} ms`);
    assert.deepEqual(processesOfRun(runIdIn(join(dir, 'out.log'))), [], 'no process of the run is left');
    assert.match(readFileSync(join(dir, 'out.log'), 'utf8'), /\ndone\n/);
  });

  it('honours its timeout when a daemon outside the group holds the pipes', async function () {
    const started = Date.now();
    const result = await run(`echo "$TDL_RUN_ID"; setsid sleep 600 & trap '' TERM; sleep 600`, { timeoutMs: 1000 });
    const took = Date.now() - started;
    assert.equal(result.timedOut, true);
    assert.ok(took < 1000 + 9000, `ended ${took} ms after it started`);
    assert.deepEqual(processesOfRun(runIdIn(join(dir, 'out.log'))), []);
  });

  it('takes a timeout beyond Node\'s timer limit as "no sooner than that", not as "now"', async function () {
    const result = await run('sleep 1; echo slept', { timeoutMs: 1e21 });
    assert.deepEqual([result.exitCode, result.timedOut], [0, false]);
  });

  it('stops everything it started when cancelled', async function () {
    const abort = new AbortController();
    const pending = run(`echo "$TDL_RUN_ID"; setsid sh -c 'sleep 600 & sleep 600' & sleep 600`, { signal: abort.signal });
    await new Promise((r) => setTimeout(r, 500));
    abort.abort();
    const result = await pending;
    assert.equal(result.cancelled, true);
    assert.deepEqual(processesOfRun(runIdIn(join(dir, 'out.log'))), []);
  });

  it('rejects, with the reason, an environment too large to start a command with', async function () {
    await assert.rejects(run('echo never', { env: { ...process.env, HUGE: 'x'.repeat(200_000) } }), { code: 'E2BIG' });
  });

  it('redacts secrets of the worker in output that never ends a line', async function () {
    process.env.TDL_TEST_PROCESS_TOKEN = 'worker-secret-value-8c1d';
    try {
      await run(`printf '%s' "$(head -c 100000 /dev/zero | tr '\\0' ' ')"; printf 'leaked %s and more' "$TDL_TEST_PROCESS_TOKEN"`);
    } finally {
      delete process.env.TDL_TEST_PROCESS_TOKEN;
    }
    const log = readFileSync(join(dir, 'out.log'), 'utf8');
    assert.ok(!log.includes('worker-secret-value-8c1d'));
    assert.match(log, /leaked \[redacted\] and more$/);
  });
});

describe('logTail', function () {
  it('returns the last lines of a big log, reading only its end', function () {
    const path = join(tempDir('tdl-tail-'), 'big.log');
    writeFileSync(path, `${'x'.repeat(20_000_000)}\nsecond to last\nlast\n`);
    assert.equal(logTail(path, 2), 'second to last\nlast');
    assert.equal(logTail(path, 5), 'second to last\nlast', 'a line cut by the read is left out');
    assert.equal(logTail(join(path, 'missing'), 3), '');
  });
});

describe('maxOutputBytes', function () {
  it('reads TDL_MAX_OUTPUT_BYTES in bytes or binary units, and names it when it is wrong', function () {
    assert.equal(maxOutputBytes({}), 64 * 1024 * 1024);
    assert.equal(maxOutputBytes({ TDL_MAX_OUTPUT_BYTES: '5242880' }), 5 * 1024 * 1024);
    assert.equal(maxOutputBytes({ TDL_MAX_OUTPUT_BYTES: '5M' }), 5 * 1024 * 1024);
    assert.equal(maxOutputBytes({ TDL_MAX_OUTPUT_BYTES: '1GiB' }), 1024 ** 3);
    for (const bad of ['-1', '12', 'lots', '1.5M', '1e9']) {
      assert.throws(() => maxOutputBytes({ TDL_MAX_OUTPUT_BYTES: bad }), new RegExp(`TDL_MAX_OUTPUT_BYTES must be .*got "${bad.replace('.', '\\.')}"`));
    }
  });
});
