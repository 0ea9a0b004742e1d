/** Workflow ids as folder names (distinct, short, never outside their folder), and the private work folder. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { cycleWorkDir, folderName, loopDir, removeWorkDir } from '../../src/activities/paths';
import { tempDir } from '../support/temporal';

describe('report folders', function () {
  it('keeps a safe, short id as its folder name, so existing reports stay where they are', function () {
    for (const id of ['netra-staging-20260908T091900', 'loop-7f1c9a2e-5b1d-4c8e-9f00-1234567890ab', 'a.b_c-D', 'x'.repeat(100)]) {
      assert.equal(folderName(id), id);
    }
  });

  it('gives ids that differ only in unsafe characters different folders', function () {
    const names = ['coll/x', 'coll_x', 'coll x', 'coll\\x', 'coll~x', 'Coll/x'].map(folderName);
    assert.equal(new Set(names).size, names.length, names.join(' '));
    assert.equal(folderName('coll_x'), 'coll_x');
    assert.match(folderName('coll/x'), /^coll_x~[0-9a-f]{16}$/);
  });

  it('bounds a long id to a readable prefix and a hash of the whole id', function () {
    const long = 'n'.repeat(305);
    const other = `${'n'.repeat(304)}m`;
    assert.match(folderName(long), /^n{64}~[0-9a-f]{16}$/);
    assert.notEqual(folderName(long), folderName(other));
    assert.match(folderName('y'.repeat(101)), /^y{64}~[0-9a-f]{16}$/, 'just over the limit');
    assert.ok(Buffer.byteLength(folderName('é'.repeat(1000))) <= 81);
  });

  it('never leaves the reports folder', function () {
    const reports = resolve('/srv/reports');
    for (const id of ['..', '.', '../../etc/passwd', '/etc', '..%2F..', '.hidden', 'a/../../b', '\0', '~', 'x\n..']) {
      const dir = loopDir(reports, id);
      assert.equal(dirname(dir), reports, `${JSON.stringify(id)} -> ${dir}`);
      assert.ok(!['.', '..'].includes(folderName(id)) && !folderName(id).startsWith('.'), `${JSON.stringify(id)} -> ${folderName(id)}`);
      assert.equal(join(reports, folderName(id)), dir);
    }
  });
});

describe('the work folder', function () {
  let saved: string | undefined;
  beforeEach(() => (saved = process.env.TDL_WORK_DIR));
  afterEach(() => {
    if (saved === undefined) delete process.env.TDL_WORK_DIR;
    else process.env.TDL_WORK_DIR = saved;
  });

  it('keeps one cycle per loop, privately, and goes with the loop', function () {
    process.env.TDL_WORK_DIR = join(tempDir('tdl-work-test-'), 'work');
    const first = cycleWorkDir('coll/x', 1);
    writeFileSync(join(first, 'junit.xml'), '<testsuite/>');
    const second = cycleWorkDir('coll/x', 2);
    assert.equal(dirname(first), dirname(second));
    assert.deepEqual(readdirSync(dirname(second)), ['cycle-2'], 'the previous cycle is gone');
    assert.equal(statSync(process.env.TDL_WORK_DIR).mode & 0o777, 0o700);
    assert.equal(statSync(second).mode & 0o777, 0o700);
    removeWorkDir('coll/x');
    assert.ok(!existsSync(dirname(second)));
  });

  it('refuses a work folder that is a symlink someone else planted', function () {
    const root = tempDir('tdl-work-test-');
    mkdirSync(join(root, 'elsewhere'));
    symlinkSync(join(root, 'elsewhere'), join(root, 'work'));
    process.env.TDL_WORK_DIR = join(root, 'work');
    assert.throws(() => cycleWorkDir('loop', 1), /TDL_WORK_DIR: .*work must be a folder of the worker's own user/);
  });
});
