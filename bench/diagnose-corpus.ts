/**
 * The engine on the real-world corpus (test/fixtures/real): the share of reports it gets right
 * (verdict, counts, largest root cause) and per-category precision and recall over failing tests.
 *
 * Run: node dist/bench/diagnose-corpus.js [--verbose]
 */
import { categoryScores, describeEntry, loadCorpus, score, type Scored } from '../test/diagnosis/corpus';

const pct = (n: number, d: number) => (d === 0 ? '   -  ' : `${((100 * n) / d).toFixed(1).padStart(5)}%`);

async function main(): Promise<void> {
  const entries = loadCorpus();
  if (entries.length === 0) throw new Error('no manifest-*.json in test/fixtures/real');
  const scored: Scored[] = [];
  for (const entry of entries) scored.push(await score(entry));
  const right = scored.filter((s) => s.wrong.length === 0).length;
  const tools = new Set(entries.map((e) => e.tool)).size;
  console.log(`corpus: ${entries.length} reports from ${tools} tools; right: ${right}/${entries.length} (${pct(right, entries.length).trim()})`);
  console.log('');
  console.log('category             TP    FP    FN  precision  recall');
  for (const c of categoryScores(scored)) {
    console.log(`${c.category.padEnd(19)} ${String(c.tp).padStart(4)} ${String(c.fp).padStart(5)} ${String(c.fn).padStart(5)}     ${pct(c.tp, c.tp + c.fp)}  ${pct(c.tp, c.tp + c.fn)}`);
  }
  const wrong = scored.filter((s) => s.wrong.length > 0);
  if (wrong.length > 0) console.log(`\nwrong:\n${wrong.map((s) => `- ${describeEntry(s.entry)}\n    ${s.wrong.join('\n    ')}`).join('\n')}`);
  if (process.argv.includes('--verbose')) {
    for (const s of scored) {
      console.log(`\n${describeEntry(s.entry)}: ${s.got.verdict} ${JSON.stringify(s.got.tests)}`);
      for (const c of s.got.clusters) console.log(`  ${c.category} ${c.count}: ${c.signature}`);
    }
  }
}

main().catch((e: Error) => {
  console.error(`bench failed: ${e.message}`);
  process.exit(1);
});
