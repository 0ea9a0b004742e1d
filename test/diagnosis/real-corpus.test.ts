import { strict as assert } from 'node:assert';
import { describeEntry, loadCorpus, score } from './corpus';

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
});
