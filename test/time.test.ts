/** Where a loop's time went: counted at phase changes from the workflow's clock (pure, no Temporal). */
import assert from 'node:assert/strict';
import { initialStatus, startCycle, type LoopStatus, type Phase } from '../src/workflows/state';
import { renderCurrentDetails, renderLoopReport } from '../src/workflows/report';
import { accountPhaseChange, describeTime, formatDuration, noTimeSpent, timeSpentAt } from '../src/workflows/time';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(T0 + ms);
const MIN = 60_000;
const DAY = 24 * 60 * MIN;

/** Moves the status to `phase` at `ms`, as the workflow's setPhase does. */
function go(s: LoopStatus, phase: Phase, ms: number): void {
  accountPhaseChange(s, phase, at(ms));
  s.phase = phase;
}

describe('where the time went', function () {
  it("counts the seed's loop: 2 minutes testing, days waiting for infrastructure, per cycle and in total", function () {
    const s = initialStatus('netra', 10, at(0));
    startCycle(s, at(0));
    go(s, 'testing', 0);
    go(s, 'diagnosing', 2 * MIN);
    go(s, 'awaiting-fix', 2 * MIN + 5_000);
    go(s, 'deploying', 2 * MIN + 5_000 + 3 * 60 * MIN);
    go(s, 'verifying', 2 * MIN + 5_000 + 3 * 60 * MIN + 40_000);
    go(s, 'blocked-infra', 2 * MIN + 5_000 + 3 * 60 * MIN + 70_000);
    const restored = 2 * MIN + 5_000 + 3 * 60 * MIN + 70_000 + 3 * DAY;
    go(s, 'deploying', restored);
    go(s, 'verifying', restored + 10_000);
    startCycle(s, at(restored + 20_000));
    go(s, 'testing', restored + 20_000);
    go(s, 'diagnosing', restored + 20_000 + 2 * MIN);
    go(s, 'passed', restored + 20_000 + 2 * MIN + 5_000);

    assert.deepEqual(s.cycles[0].time, {
      testingMs: 2 * MIN,
      diagnosingMs: 5_000,
      deployingMs: 40_000 + 10_000,
      // The verification that ended the cycle counts in the cycle it began in.
      verifyingMs: 30_000 + 10_000,
      waitingForFixMs: 3 * 60 * MIN,
      blockedOnInfraMs: 3 * DAY,
    });
    assert.deepEqual(s.cycles[1].time, { ...noTimeSpent(), testingMs: 2 * MIN, diagnosingMs: 5_000 });
    assert.equal(s.time!.total.testingMs, 4 * MIN);
    assert.equal(s.time!.total.blockedOnInfraMs, 3 * DAY);
    assert.equal(s.time!.timeToGreenMs, restored + 20_000 + 2 * MIN + 5_000);
    assert.equal(describeTime(s.time!.total, s.time!.timeToGreenMs), 'testing 4.0 min, diagnosing 10.0 s, deploying 50.0 s, verifying 40.0 s, waiting for a fix 3.0 h, blocked on infrastructure 3.0 d; green after 3.1 d');
  });

  it("a client adds the current phase's time so far; final phases add nothing", function () {
    const s = initialStatus('netra', 10, at(0));
    startCycle(s, at(0));
    go(s, 'testing', 0);
    go(s, 'blocked-infra', MIN);
    assert.equal(timeSpentAt(s.time!, s.phase, at(MIN + 2 * DAY)).blockedOnInfraMs, 2 * DAY);
    assert.equal(s.time!.total.blockedOnInfraMs, 0, 'the status itself is not changed');
    go(s, 'gave-up', 3 * DAY);
    assert.equal(timeSpentAt(s.time!, s.phase, at(9 * DAY)).blockedOnInfraMs, 3 * DAY - MIN);
    assert.equal(s.time!.timeToGreenMs, null, 'never green');
  });

  it('a status carried from a version without time accounting starts counting at its next phase change', function () {
    const s = initialStatus('netra', 10, at(0));
    startCycle(s, at(0));
    delete s.time;
    delete s.cycles[0].time;
    go(s, 'diagnosing', 5 * MIN);
    assert.deepEqual(s.time!.total, noTimeSpent(), 'nothing is invented for the time before');
    go(s, 'awaiting-fix', 6 * MIN);
    assert.equal(s.time!.total.diagnosingMs, MIN);
    assert.equal(s.cycles[0].time!.diagnosingMs, MIN);
  });

  it('shows in the report and the Web UI details', function () {
    const s = initialStatus('netra', 10, at(0));
    startCycle(s, at(0));
    go(s, 'testing', 0);
    go(s, 'awaiting-fix', 90_000);
    assert.match(renderCurrentDetails(s), /Time so far: testing 1\.5 min$/);
    const report = renderLoopReport(s);
    assert.match(report, /\| Time \| testing 1\.5 min \(current phase since 2026-01-01T00:01:30\.000Z\) \|/);
    assert.match(report, /- \*\*Time\*\*: testing 1\.5 min/);
    assert.doesNotMatch(report, /Time to green/);
  });

  it('formats durations from seconds to days', function () {
    assert.deepEqual([500, 90_000, 5 * 3_600_000, 3 * DAY].map(formatDuration), ['0.5 s', '1.5 min', '5.0 h', '3.0 d']);
    assert.equal(describeTime(noTimeSpent(), null), 'nothing yet');
  });
});
