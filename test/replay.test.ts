/**
 * Workflow changes must keep old loops running: the recorded histories in test/histories/v<version>/
 * (real runs of each released version, saved by `npm run record-histories`) replay against today's
 * workflow code. Record a new version's histories beside the old ones; never replace them.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { workflowSource } from '../src/worker';

const ROOT = resolve(__dirname, '..', '..');
const HISTORIES = join(ROOT, 'test', 'histories');
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

describe('replaying recorded loop histories', function () {
  const histories = readdirSync(HISTORIES, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.binpb'))
    .map((f) => ({ workflowId: f, history: temporal.api.history.v1.History.decode(readFileSync(join(HISTORIES, f))) }));

  it('has the histories of every version, this one included', function () {
    const versions = readdirSync(HISTORIES).filter((d) => /^v\d+\.\d+\.\d+$/.test(d));
    assert.ok(versions.includes('v0.1.0'), 'the first released version');
    assert.ok(versions.includes(`v${version}`), `histories of v${version}: run \`npm run record-histories\``);
    for (const v of versions) assert.ok(histories.some((h) => h.workflowId.startsWith(`${v}/`)), `${v} has histories`);
  });

  it('has recorded histories of every kind of ending', function () {
    const last = histories.map(({ history }) => history.events![history.events!.length - 1]);
    assert.ok(last.some((e) => e.workflowExecutionCompletedEventAttributes), 'a loop that completed');
    assert.ok(last.some((e) => e.workflowExecutionFailedEventAttributes), 'a loop that failed');
    assert.ok(last.some((e) => e.workflowExecutionCanceledEventAttributes), 'a loop that was cancelled');
    assert.ok(last.some((e) => e.workflowExecutionContinuedAsNewEventAttributes), 'a loop that continued as new');
  });

  it('replays each of them without nondeterminism', async function () {
    let replayed = 0;
    for await (const result of Worker.runReplayHistories({ ...workflowSource(), replayName: 'tdl-replay' }, histories)) {
      assert.equal(result.error, undefined, `${result.workflowId}: ${result.error?.message}`);
      replayed++;
    }
    assert.equal(replayed, histories.length);
  });
});
