/**
 * `tdl diagnose --junit FILE... [--json]`: the diagnosis engine alone, offline.
 * Exit 0 when the diagnosis succeeded (whatever the tests did), 2 for bad usage or unreadable input.
 */
import { diagnose } from '../diagnosis';
import { LoopError } from '../errors';
import type { Diagnosis } from '../diagnosis/types';
import { testCounts, VERDICTS } from '../render';
import { UsageError, type Io } from './io';

const TESTS_SHOWN = 5;

/** The contract's `--json` shape (plus evidence, warnings and durations, which the contract allows). */
export function diagnosisJson(d: Diagnosis): object {
  return {
    tests: d.tests,
    verdict: d.verdict,
    clusters: d.clusters.map((c) => ({
      category: c.category,
      count: c.count,
      signature: c.signature,
      message: c.message,
      tests: c.tests,
      hypothesis: c.hypothesis,
      evidence: c.evidence,
      variants: c.variants,
    })),
    flakyTests: d.flakyTests,
    warnings: d.warnings,
    durationMs: d.durationMs,
  };
}

export function renderDiagnosisText(d: Diagnosis): string {
  const lines = [
    testCounts({ ...d.tests, durationMs: d.durationMs }),
    `verdict: ${d.verdict}: ${VERDICTS[d.verdict].meaning}`,
  ];
  d.clusters.forEach((c, i) => {
    lines.push('', `${i + 1}. ${c.category}, ${c.count} test${c.count === 1 ? '' : 's'}: ${c.signature}`);
    lines.push(`   hypothesis: ${c.hypothesis}`);
    for (const v of c.variants) lines.push(`   variant (${v.count}): ${v.message}`);
    for (const e of c.evidence) lines.push(`   evidence: ${e}`);
    const more = c.count - Math.min(c.tests.length, TESTS_SHOWN);
    lines.push(`   tests: ${c.tests.slice(0, TESTS_SHOWN).join(', ')}${more > 0 ? ` (+${more} more)` : ''}`);
  });
  if (d.flakyTests.length > 0) lines.push('', `flaky: ${d.flakyTests.join(', ')}`);
  for (const w of d.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}

export async function diagnoseCommand(io: Io, files: string[], opts: { json: boolean }): Promise<number> {
  if (files.length === 0) throw new UsageError('no JUnit file given');
  let diagnosis: Diagnosis;
  try {
    diagnosis = await diagnose(files);
  } catch (e) {
    // An unreadable or non-JUnit file is bad input, named by the engine.
    if (e instanceof LoopError) throw new UsageError(e.message);
    throw e;
  }
  io.out(opts.json ? jsonForTerminal(JSON.stringify(diagnosisJson(diagnosis), null, 2)) : textForTerminal(renderDiagnosisText(diagnosis)));
  return 0;
}

/** ANSI sequences and other control characters (C0 but newline and tab, DEL, C1) in report text. */
const ANSI = /\x1B\[[0-?]*[ -/]*[@-~]/g;
const CONTROL = /[\x00-\x08\x0B-\x1F\x7F-\x9F]/g;
const hex = (c: string) => c.charCodeAt(0).toString(16).padStart(2, '0');

/** Test output can carry terminal escapes: shown as `\xNN`, never sent raw to the user's terminal. */
export function textForTerminal(text: string): string {
  return text.replace(ANSI, '').replace(CONTROL, (c) => `\\x${hex(c)}`);
}

/** JSON.stringify escapes C0 but not DEL and C1; escape those too (they only occur inside strings). */
function jsonForTerminal(json: string): string {
  return json.replace(CONTROL, (c) => `\\u00${hex(c)}`);
}
