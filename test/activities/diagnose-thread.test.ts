/**
 * The diagnosis engine in a worker thread: the same result as in-process, typed errors across the
 * thread, and a cancelled diagnosis that stops (its thread terminated, its files never written).
 */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { digest, type DiagnoseJob } from '../../src/activities/diagnose-thread';
import { digestInThread } from '../../src/activities/diagnose';
import { FailureType, LoopError } from '../../src/errors';
import { fixture } from '../diagnosis/helpers';
import { tempDir } from '../support/temporal';

function job(junitPaths: string[], overrides: Partial<DiagnoseJob> = {}): DiagnoseJob {
  return {
    loopName: 'netra-staging',
    cycle: 1,
    command: 'pytest',
    startedAt: '2025-09-08T09:19:00Z',
    junitPaths,
    suiteDurationMs: 1000,
    probes: undefined,
    dir: tempDir('tdl-thread-'),
    secretEnv: [],
    ...overrides,
  };
}

/** A report big enough that its diagnosis takes a while: 20,000 cases, every tenth failing. */
function bigReport(dir: string): string {
  const cases: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    const failure = i % 10 === 0 ? `<failure message="AssertionError: expected 200, got ${500 + (i % 4)} for item ${i}">trace ${i}</failure>` : '';
    cases.push(`<testcase classname="tests.e2e.mod${i % 50}" name="test_${i}_${'x'.repeat(200)}" time="0.01">${failure}</testcase>`);
  }
  const path = join(dir, 'big.xml');
  writeFileSync(path, `<testsuite name="big">${cases.join('')}</testsuite>`);
  return path;
}

describe('diagnose in a worker thread', function () {
  const signal = () => new AbortController().signal;

  it('gives the result digest() gives in-process, and writes the same report', async () => {
    const file = fixture('seed/staging-websocket-auth.xml');
    const inThread = await digestInThread(job([file]), signal());
    const inProcess = await digest(job([file]));
    assert.deepEqual({ ...inThread, reportPath: '' }, { ...inProcess, reportPath: '' });
    assert.equal(inThread.verdict, 'code');
    assert.equal(inThread.rootCauses[0].category, 'websocket-handshake');
    assert.equal(readFileSync(inThread.reportPath, 'utf8'), readFileSync(inProcess.reportPath, 'utf8'));
  });

  it('keeps the LoopError type of a failure in the thread', async () => {
    const missing = join(tempDir(), 'no-such-junit.xml');
    const err = await digestInThread(job([missing]), signal()).then(
      () => assert.fail('expected NoJUnitReport'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof LoopError, `a LoopError, got ${String(err)}`);
    assert.equal(err.type, FailureType.NoJUnitReport);
    assert.match(err.message, /no-such-junit\.xml/);
  });

  it('stops at cancellation: rejects with the reason, and the thread never writes its files', async () => {
    const dir = tempDir();
    const path = bigReport(dir);
    const started = Date.now();
    const full = await digestInThread(job([path]), signal());
    const fullMs = Date.now() - started;
    assert.equal(full.tests.total, 20_000);

    const cancelled = job([path]);
    const controller = new AbortController();
    const reason = new Error('cancelled by the test');
    setTimeout(() => controller.abort(reason), 20);
    const abortedAt = Date.now();
    await assert.rejects(digestInThread(cancelled, controller.signal), (e) => e === reason);
    // Wait out the time a whole diagnosis took: a thread still running would have written by now.
    await new Promise((r) => setTimeout(r, Math.max(0, fullMs * 2 - (Date.now() - abortedAt))));
    assert.ok(!existsSync(join(cancelled.dir, 'diagnosis.json')), 'the cancelled thread went on and wrote its diagnosis');
    assert.ok(!existsSync(join(cancelled.dir, 'report.md')));
  });
});
