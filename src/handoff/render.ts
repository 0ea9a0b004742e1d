/** The hand-off's part of the loop report and the Web UI's details: who fixed what, the diff, escalations. Pure. */
import { mdCell as cell } from '../render';
import type { FixRecord } from '../workflows/state';
import type { CycleDiff, DiffEntry, Escalation } from './types';

/** The fix line of a cycle: commit, summary, who (person or agent), PR, branch, what it addressed. */
export function fixLine(fix: FixRecord): string {
  const who = fix.agent ? `agent ${fix.agent}${fix.author ? `, for ${fix.author}` : ''}` : fix.author;
  const parts = [`- **Fix**: \`${fix.commit}\`${fix.summary ? ` ${fix.summary}` : ''}${who ? ` (${who})` : ''}, by ${fix.via} at ${fix.receivedAt}`];
  if (fix.prUrl) parts.push(`, PR ${fix.prUrl}`);
  if (fix.branch) parts.push(`, branch \`${fix.branch}\``);
  if (fix.addresses?.length) parts.push(`, addresses ${fix.addresses.map((a) => `\`${a}\``).join(', ')}`);
  return parts.join('');
}

const DIFF_ROWS: [keyof Omit<CycleDiff, 'since'>, string][] = [
  ['fixed', 'fixed'],
  ['stillFailing', 'still failing'],
  ['new', 'new'],
  ['regressed', 'regressed'],
];

function meantBy(e: DiffEntry, kind: string): string {
  if (!e.fix) return '';
  if (kind === 'regressed') return `after \`${e.fix}\``;
  return e.claimed ? `\`${e.fix}\` (claimed it)` : `\`${e.fix}\``;
}

/** A table of the cycle's root causes against the cycle before; nothing for the first cycle. */
export function diffSection(d: CycleDiff | null | undefined): string[] {
  if (!d || d.since === null) return [];
  const rows = DIFF_ROWS.flatMap(([key, label]) => d[key].map((e) => `| ${label} | \`${e.fingerprint}\` ${e.category} | ${e.before} → ${e.count} | ${meantBy(e, label)} |`));
  if (!rows.length) return [];
  return [`Against cycle ${d.since}:`, '', '| | Root cause | Failures | Fix |', '|---|---|---:|---|', ...rows, ''];
}

export function escalationLine(e: Escalation): string {
  return `- **Needs a person** (${e.kind}${e.by ? `, from ${cell(e.by)}` : ''}) since ${e.at}: ${e.reason}`;
}
