/**
 * The pool of diagnosis threads: a thread that answered serves the next job (no thread start per
 * diagnosis), one that was stopped at its limit or failed is never reused, and the next job after
 * it still gets an answer.
 */
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DiagnoseJob } from '../../src/activities/diagnose-thread';
import { digestInThread, idleDiagnosisThreads } from '../../src/activities/diagnose';
import { FailureType, LoopError } from '../../src/errors';
import { fixture } from '../diagnosis/helpers';
import { tempDir } from '../support/temporal';

function job(junitPath: string): DiagnoseJob {
  const dir = tempDir('tdl-pool-');
  return { loopName: 'pool', cycle: 1, command: 'pytest', startedAt: '2025-09-08T09:19:00Z', junitPaths: [junitPath], suiteDurationMs: 1, probes: undefined, dir, secretEnv: [] };
}

/** 20,000 cases: a diagnosis that takes long enough to be stopped midway. */
function bigReport(): string {
  const cases = Array.from({ length: 20_000 }, (_, i) => `<testcase classname="m${i % 50}" name="t${i}"><failure message="expected ${i}"/></testcase>`);
  const path = join(tempDir('tdl-pool-'), 'big.xml');
  writeFileSync(path, `<testsuite>${cases.join('')}</testsuite>`);
  return path;
}

describe('the pool of diagnosis threads', function () {
  const never = () => new AbortController().signal;
  const small = fixture('seed/staging-websocket-auth.xml');

  it('keeps a thread that answered for the next job', async function () {
    await digestInThread(job(small), never());
    const idle = idleDiagnosisThreads();
    assert.ok(idle >= 1, 'the thread waits for the next job');
    const second = await digestInThread(job(small), never());
    assert.equal(second.verdict, 'code');
    assert.equal(idleDiagnosisThreads(), idle, 'the second job ran on a waiting thread and gave it back');
  });

  it('never reuses a thread stopped at its time limit, and the next job still gets an answer', async function () {
    await digestInThread(job(small), never());
    const idle = idleDiagnosisThreads();
    await assert.rejects(digestInThread(job(bigReport()), AbortSignal.timeout(30)), (e: Error) => e.name === 'TimeoutError');
    assert.equal(idleDiagnosisThreads(), idle - 1, 'the stopped thread left the pool');
    const after = await digestInThread(job(small), never());
    assert.equal(after.rootCauses[0].category, 'websocket-handshake');
  });

  it('never reuses a thread whose job failed', async function () {
    await digestInThread(job(small), never());
    const idle = idleDiagnosisThreads();
    await assert.rejects(digestInThread(job(join(tempDir(), 'missing.xml')), never()), (e) => e instanceof LoopError && e.type === FailureType.NoJUnitReport);
    assert.equal(idleDiagnosisThreads(), idle - 1);
  });
});
