/** The one wording of counts, verdicts, checks and probe attempts, as every report and the CLI show them. */
import assert from 'node:assert/strict';
import { attemptOutcome, describeAttempt, describeHttpCheck, mdCell, mdCode, testCounts } from '../src/render';
import { wsAttempt as attempt } from './support/probe-evidence';

describe('render', () => {
  it('writes one test-count line, with the time when there is one', () => {
    const t = { total: 25, passed: 1, failed: 24, errored: 0, skipped: 0, flaky: 0 };
    assert.equal(testCounts(t), '25 tests: 1 passed, 24 failed, 0 errored, 0 skipped, 0 flaky');
    assert.equal(testCounts({ ...t, durationMs: 121_000 }), '25 tests: 1 passed, 24 failed, 0 errored, 0 skipped, 0 flaky (121.0 s)');
    assert.equal(testCounts(null), 'not run');
  });

  it('keeps text inside a Markdown table cell and inline code', () => {
    assert.equal(mdCell('a | b\n  c\r\nd'), 'a \\| b c d');
    assert.equal(mdCode('x'), '`x`');
    assert.equal(mdCode('a `b`'), '`` a `b` ``');
  });

  it('describes an HTTP check and a WebSocket attempt the same way wherever they are shown', () => {
    assert.equal(describeHttpCheck({ status: 503, body: 'down', error: null, ms: 7 }), 'HTTP 503 in 7 ms');
    assert.equal(describeHttpCheck({ status: null, body: '', error: 'ECONNREFUSED', ms: 3 }), 'no answer after 3 ms: ECONNREFUSED');
    assert.equal(attemptOutcome(attempt({ accepted: true, status: 101, protocol: 'jwt-auth' })), 'accepted (protocol jwt-auth)');
    assert.equal(attemptOutcome(attempt({ status: 403 })), 'rejected with HTTP 403');
    assert.equal(attemptOutcome(attempt({ status: 101, closeCode: 1002, closeReason: 'no subprotocol' })), 'closed 1002 "no subprotocol"');
    assert.equal(attemptOutcome(attempt({ error: 'ECONNRESET' })), 'failed: ECONNRESET');
    assert.equal(
      describeAttempt(attempt({ status: 101, closeCode: 1008, firstMessage: '{"type":"error_message"}' })),
      'WebSocket probe, no subprotocol, Authorization: Bearer <token>: closed 1008, first message {"type":"error_message"}',
    );
  });
});
