/** The plain decisions behind worker-specific queues and `tdl report --cycle`. */
import assert from 'node:assert/strict';
import { ActivityFailure, ApplicationFailure, RetryState, TimeoutFailure } from '@temporalio/common';
import { cycleReportUrl } from '../../src/cli/report';
import { hostLost } from '../../src/workflows/host';
import { hostQueueName } from '../../src/host-worker';

const activityFailed = (cause: Error) => new ActivityFailure('activity failed', 'diagnose', '7', RetryState.NON_RETRYABLE_FAILURE, undefined, cause);

describe('worker-specific queues: a lost host', function () {
  it('is a diagnosis that no worker picked up in time, or whose worker stopped heartbeating', function () {
    assert.equal(hostLost(activityFailed(new TimeoutFailure(undefined, undefined, 'SCHEDULE_TO_START'))), true);
    assert.equal(hostLost(activityFailed(new TimeoutFailure(undefined, undefined, 'HEARTBEAT'))), true);
  });

  it('is not a diagnosis that ran too long, failed on its own, or any other error', function () {
    assert.equal(hostLost(activityFailed(new TimeoutFailure(undefined, undefined, 'START_TO_CLOSE'))), false);
    assert.equal(hostLost(activityFailed(ApplicationFailure.nonRetryable('no JUnit report', 'NoJUnitReport'))), false);
    assert.equal(hostLost(new TimeoutFailure(undefined, undefined, 'SCHEDULE_TO_START')), false);
    assert.equal(hostLost(new Error('x')), false);
  });

  it('each worker process gets its own queue, named after the shared one', function () {
    const a = hostQueueName('test-deploy-loop');
    assert.match(a, new RegExp(`^test-deploy-loop@.+-${process.pid}-[0-9a-f]{8}$`));
    assert.notEqual(a, hostQueueName('test-deploy-loop'));
  });
});

describe('tdl report --cycle: where a cycle report is', function () {
  const cycle = (n: number, reportPath: string | null) => ({ cycle: n, reportPath }) as never;

  it('the recorded URL of a kept cycle', function () {
    const status = { cycle: 2, cycles: [cycle(1, 'gs://b/ci/loop/cycle-1/report.md'), cycle(2, 'file:///r/loop/cycle-2/report.md')] };
    assert.equal(cycleReportUrl(status, 1), 'gs://b/ci/loop/cycle-1/report.md');
    assert.equal(cycleReportUrl(status, 2), 'file:///r/loop/cycle-2/report.md');
  });

  it("an older cycle's, in its own folder beside the kept ones", function () {
    const status = { cycle: 60, cycles: [cycle(59, 'gs://b/loop/cycle-59/report.md'), cycle(60, null)] };
    assert.equal(cycleReportUrl(status, 3), 'gs://b/loop/cycle-3/report.md');
  });

  it('none for a cycle the loop never had, or one not diagnosed yet', function () {
    const status = { cycle: 2, cycles: [cycle(1, 'gs://b/loop/cycle-1/report.md'), cycle(2, null)] };
    assert.equal(cycleReportUrl(status, 3), null);
    assert.equal(cycleReportUrl(status, 0), null);
    assert.equal(cycleReportUrl(status, 2), null);
  });
});
