import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { describeEntry, loadCorpus, score, SOURCES_PATH, sourcesMarkdown } from './corpus';

describe('the real-world corpus (test/fixtures/real)', () => {
  it('gets the verdict, the six counts and the largest root cause right on every report', async function () {
    const entries = loadCorpus();
    if (entries.length === 0) this.skip();
    const scored = [];
    for (const entry of entries) scored.push(await score(entry));
    const wrong = scored.filter((s) => s.wrong.length > 0);
    const right = scored.length - wrong.length;
    assert.ok(
      wrong.length === 0,
      `${right}/${scored.length} right (${((100 * right) / scored.length).toFixed(1)}%); wrong:\n` +
        wrong.map((s) => `- ${describeEntry(s.entry)}\n    ${s.wrong.join('\n    ')}`).join('\n'),
    );
  });

  it('lists every report with its source and expectation in SOURCES.md', () => {
    const entries = loadCorpus();
    assert.ok(entries.length >= 40, `${entries.length} reports`);
    assert.ok(new Set(entries.map((e) => e.tool)).size >= 12);
    for (const e of entries) assert.match(e.source.commit, /^[0-9a-f]{40}$/, describeEntry(e));
    assert.equal(fs.readFileSync(SOURCES_PATH, 'utf8'), sourcesMarkdown(entries), 'SOURCES.md is out of date: run `node dist/test/diagnosis/corpus.js --write-sources`');
  });
});
