/** `tdl handoff --schema` and the hand-off flags, checked before anything connects. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { handoffJsonSchema } from '../../src/handoff/schema';
import { TDL } from '../support/temporal';

// Nothing listens there: a command that tried to connect would say so.
const tdl = (...args: string[]) => spawnSync(process.execPath, [TDL, ...args], { encoding: 'utf8', env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' } });

describe('tdl: the hand-off commands', function () {
  it('publishes the hand-off document JSON Schema', function () {
    const r = tdl('handoff', '--schema');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), handoffJsonSchema());
    assert.equal(JSON.parse(r.stdout).properties.schemaVersion.const, 1);
  });

  it('names what is wrong with fingerprints, a missing reason or a missing id (exit 2)', function () {
    const bad = tdl('fix', 'loop-1', '--commit', 'abc', '--addresses', 'aaaaaaaaaaaaaaaa,zz');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--addresses "zz" is not a fingerprint \(16 hex digits/);
    const noReason = tdl('cannot-fix', 'loop-1');
    assert.equal(noReason.status, 2);
    assert.match(noReason.stderr, /--reason/);
    const noId = tdl('handoff');
    assert.equal(noId.status, 2);
    assert.match(noId.stderr, /handoff takes one workflow id \(or --schema\)/);
  });
});
