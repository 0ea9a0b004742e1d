/**
 * `tdl diagnose --junit FILE... [--json]`: the diagnosis engine alone, offline.
 * Exit 0 when the diagnosis succeeded (whatever the tests did), 2 for bad usage or unreadable input.
 */
import { diagnose } from '../diagnosis';
import { LoopError } from '../errors';
import type { Diagnosis } from '../diagnosis/types';

const USAGE = 'usage: tdl diagnose --junit FILE... [--json]';
const TESTS_SHOWN = 5;

const VERDICT_WORDS: Record<Diagnosis['verdict'], string> = {
  passed: 'passed: every test passed',
  code: 'code: defects for the fix team',
  infrastructure: 'infrastructure: for the infrastructure team, not a code defect',
  flaky: 'flaky: only tests that passed on retry',
  mixed: 'mixed: code defects and infrastructure problems',
};

function parseArgs(args: string[]): { files: string[]; json: boolean } | string {
  const files: string[] = [];
  let json = false;
  let inJunit = false;
  for (const arg of args) {
    if (arg === '--json') json = true;
    else if (arg === '--junit') inJunit = true;
    else if (arg.startsWith('--junit=')) files.push(arg.slice('--junit='.length));
    else if (arg.startsWith('-')) return `unknown option ${arg}`;
    else if (inJunit) files.push(arg);
    else return `unexpected argument ${arg} (JUnit files follow --junit)`;
  }
  return files.length > 0 ? { files, json } : 'no JUnit file given';
}

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
  const t = d.tests;
  const lines = [
    `${t.total} tests: ${t.passed} passed, ${t.failed} failed, ${t.errored} errored, ${t.skipped} skipped, ${t.flaky} flaky (${(d.durationMs / 1000).toFixed(1)} s of test time)`,
    `verdict: ${VERDICT_WORDS[d.verdict]}`,
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
  return `${lines.join('\n')}\n`;
}

export async function diagnoseCommand(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const parsed = parseArgs(args);
  if (typeof parsed === 'string') {
    err.write(`tdl diagnose: ${parsed}\n${USAGE}\n`);
    return 2;
  }
  let diagnosis: Diagnosis;
  try {
    diagnosis = await diagnose(parsed.files);
  } catch (e) {
    if (e instanceof LoopError) {
      err.write(`tdl diagnose: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  out.write(parsed.json ? `${jsonForTerminal(JSON.stringify(diagnosisJson(diagnosis), null, 2))}\n` : textForTerminal(renderDiagnosisText(diagnosis)));
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
