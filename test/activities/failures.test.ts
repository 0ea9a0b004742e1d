/** What leaves an activity: typed failures, and any other error redacted without losing its class. */
import { strict as assert } from 'node:assert';
import { ApplicationFailure } from '@temporalio/common';
import { toFailure, typed } from '../../src/activities/failures';
import { FailureType, LoopError } from '../../src/errors';

describe('activity failures', () => {
  const SECRET = 'worker-Secret-Value-81xQ';
  before(() => {
    process.env.TDL_TEST_FAILURES_TOKEN = SECRET;
  });
  after(() => {
    delete process.env.TDL_TEST_FAILURES_TOKEN;
  });

  it('turns a LoopError into an ApplicationFailure of its type, message redacted and clipped', () => {
    const failure = toFailure(new LoopError(FailureType.SuiteNotRunnable, `exit 127: ${SECRET} ${'x '.repeat(10_000)}`));
    assert.ok(failure instanceof ApplicationFailure);
    assert.equal(failure.type, FailureType.SuiteNotRunnable);
    assert.equal(failure.nonRetryable, true);
    assert.ok(!failure.message.includes(SECRET) && !failure.stack!.includes(SECRET));
    assert.ok(failure.message.length <= 4000);
  });

  it('redacts any other error in place: message, stack and causes; its class and retryability stay', () => {
    const cause = new Error(`connect postgres://app:db-pw-123456@db/app failed`);
    const err = new TypeError(`bad response quoting ${SECRET}`, { cause });
    assert.equal(toFailure(err), err);
    assert.ok(err instanceof TypeError);
    for (const text of [err.message, err.stack!, cause.message, cause.stack!]) {
      assert.ok(!text.includes(SECRET) && !text.includes('db-pw-123456'), text.split('\n')[0]);
    }
    const abort = new DOMException('The operation was aborted', 'AbortError');
    assert.equal(toFailure(abort), abort, 'a read-only message is left alone, not a crash');
  });

  it('redacts what an activity returns', async () => {
    assert.deepEqual(await typed(async () => ({ summary: `token ${SECRET}`, count: 2 })), { summary: 'token [redacted]', count: 2 });
  });
});
