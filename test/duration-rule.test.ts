/**
 * Which duration rule a loop runs with, and what it costs in history: an ordinary loop asks no
 * patched() question (no marker event), a loop whose input only the old rule accepts asks, and
 * loops of every recorded version replay with the rule they started with.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { ConfigError, parseLoopConfig, parseLoopConfigAsStarted } from '../src/config';
import { FailureType } from '../src/errors';
import { workflowSource } from '../src/worker';
import { loopInput, stagingDir } from './support/loop-input';
import { phaseIs, workerPerTest } from './support/temporal';

type History = temporal.api.history.v1.IHistory;

const ordinary = { suite: { command: 'pytest' } };
/** A 500 ms health-check interval: fine before the bounds, under their 1 s minimum now. */
const legacyOnly = { suite: { command: 'pytest' }, verify: { url: 'http://127.0.0.1:1/health', interval: '500ms' } };

/** A parse that counts how often it asked which rule the loop started with. */
function parseAsking(input: unknown, startedBounded: boolean) {
  let asked = 0;
  const ask = () => (asked++, startedBounded);
  try {
    return { config: parseLoopConfigAsStarted(input, ask), asked };
  } catch (error) {
    return { error, asked };
  }
}

/** Markers of the duration rule's patch (every new loop also records the one patch for 0.3.0's steps). */
const markers = (h: History) =>
  h.events!.filter((e) =>
    Object.values(e.markerRecordedEventAttributes?.details ?? {}).some((p) => p.payloads?.some((x) => Buffer.from(x.data ?? []).toString().includes('bounded-durations'))),
  ).length;
const inputOf = (h: History) => defaultPayloadConverter.fromPayload(h.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0]);

async function replay(histories: { workflowId: string; history: History }[]): Promise<void> {
  for await (const result of Worker.runReplayHistories({ ...workflowSource(), replayName: 'tdl-duration-rule' }, histories)) {
    assert.equal(result.error, undefined, `${result.workflowId}: ${result.error?.message}`);
  }
}

describe('the duration rule a loop runs with', function () {
  it('asks nothing for input both rules read alike, accepted or not', function () {
    const accepted = parseAsking(ordinary, true);
    assert.equal(accepted.asked, 0);
    assert.deepEqual(accepted.config, parseLoopConfig(ordinary));

    const refused = parseAsking({ suite: { command: 'pytest' }, maxCycles: 0 }, true);
    assert.equal(refused.asked, 0);
    assert.ok(refused.error instanceof ConfigError && refused.error.field === 'maxCycles', String(refused.error));
  });

  it('asks for input only the old rule accepts: refused under the bounds, taken as it was before them', function () {
    const bounded = parseAsking(legacyOnly, true);
    assert.equal(bounded.asked, 1);
    assert.ok(bounded.error instanceof ConfigError && bounded.error.field === 'verify.interval', String(bounded.error));

    const legacy = parseAsking(legacyOnly, false);
    assert.equal(legacy.asked, 1);
    assert.equal(legacy.config?.verify.interval, '500ms');
  });

  it('replays a v0.1.0 loop whose input only the old rule accepts, through its cycles', async function () {
    const dir = resolve(__dirname, '..', '..', 'test', 'histories', 'v0.1.0');
    const histories = readdirSync(dir)
      .map((f) => ({ workflowId: f, history: temporal.api.history.v1.History.decode(readFileSync(join(dir, f))) }))
      .filter(({ history }) => parseAsking(inputOf(history), true).error instanceof ConfigError && !parseAsking(inputOf(history), false).error);
    assert.ok(histories.length > 0, 'a recorded v0.1.0 loop with an input only the old rule accepts');
    // Run under the bounds they would have failed at once; they ran cycles, so replay proves the old rule.
    for (const { history } of histories) assert.ok(history.events!.some((e) => e.activityTaskCompletedEventAttributes), 'it ran steps');
    await replay(histories);
  });

  describe('on a real server', function () {
    const w = workerPerTest();

    it('records no marker for an ordinary loop, and its history replays', async function () {
      const handle = await w.start(loopInput(stagingDir()));
      await phaseIs(handle, 'awaiting-fix');
      await handle.terminate('seen enough');
      const history = await handle.fetchHistory();
      assert.equal(markers(history), 0);
      await replay([{ workflowId: handle.workflowId, history }]);
    });

    it('refuses input only the old rule accepts with BadInput, records the marker, and that history replays', async function () {
      const handle = await w.start(loopInput(stagingDir(), { verify: { url: 'http://127.0.0.1:1/health', interval: '500ms' } }));
      const err = await handle.result().then(
        () => assert.fail('the loop should have failed'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure, String(err));
      assert.equal(err.cause.type, FailureType.BadInput);
      assert.match(err.cause.message, /verify\.interval/);
      const history = await handle.fetchHistory();
      assert.equal(markers(history), 1);
      await replay([{ workflowId: handle.workflowId, history }]);
    });
  });
});
