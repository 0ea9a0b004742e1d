/** Human-readable output of the CLI (JSON goes out as it is, with --json). */
import type { HandoffDocument } from '../handoff/schema';
import { describeDiff } from '../handoff/diff';
import { fixedBy } from '../handoff/guards';
import { testCounts } from '../render';
import type { LoopStatus } from '../workflows/state';
import { describeTime, timeSpentAt } from '../workflows/time';

export function formatStatus(id: string, s: LoopStatus): string {
  const lines = [
    `${s.name} (${id})`,
    `  phase:     ${s.phase}${s.waitingFor ? `, waiting for ${s.waitingFor}` : ''}`,
    `  cycle:     ${s.cycle} of at most ${s.maxCycles}`,
  ];
  if (s.lastRun) lines.push(`  last run:  ${testCounts(s.lastRun)}`);
  if (s.rootCauses.length) {
    lines.push('  root causes:');
    for (const r of s.rootCauses) lines.push(`    ${String(r.count).padStart(5)} × ${r.category.padEnd(19)} ${r.summary}`);
  }
  if (s.pendingFix) lines.push(`  pending fix: ${s.pendingFix.commit}${s.pendingFix.summary ? ` (${s.pendingFix.summary})` : ''}`);
  const latest = s.cycles[s.cycles.length - 1];
  if (latest?.diff?.since) lines.push(`  vs cycle ${latest.diff.since}: ${describeDiff(latest.diff)}`);
  const fixed = [...s.cycles].reverse().find((c) => c.fix)?.fix;
  if (fixed) lines.push(`  last fix:  ${fixed.commit} by ${fixedBy(fixed)}${fixed.prUrl ? `, ${fixed.prUrl}` : ''}`);
  if (s.reason) lines.push(`  why:       ${s.reason}`);
  if (s.time) lines.push(`  time:      ${describeTime(timeSpentAt(s.time, s.phase, new Date()), s.time.timeToGreenMs)}`);
  lines.push(`  updated:   ${s.updatedAt}`);
  return lines.join('\n');
}

export function formatTable(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

export function formatHandoff(d: HandoffDocument): string {
  const l = d.loop;
  const lines = [
    `${l.name} (${l.workflowId}): hand-off v${d.schemaVersion}, cycle ${l.cycle} of ${l.maxCycles} (${l.cyclesLeft} left), fix attempt ${l.attempt}`,
    `  phase:     ${l.phase}${l.waitingFor ? `, waiting for ${l.waitingFor}` : ''}`,
  ];
  if (d.escalation) lines.push(`  needs a person (${d.escalation.kind}): ${d.escalation.reason}`);
  if (d.diff?.since) lines.push(`  vs cycle ${d.diff.since}: ${describeDiff(d.diff)}`);
  lines.push('  root causes:');
  if (!d.rootCauses.length) lines.push('    none');
  for (const r of d.rootCauses) {
    lines.push(`    ${r.fingerprint}  ${String(r.count).padStart(5)} × ${r.category}${r.status ? ` (${r.status}${r.attempts ? `, ${r.attempts} fixes tried` : ''})` : ''}: ${r.message}`);
    for (const t of r.tests) lines.push(`      ${t}`);
  }
  lines.push(`  reproduce: ${d.reproduce.suiteCommand ?? `the worker's suite "${d.reproduce.suiteUse}"`} (in ${d.reproduce.cwd})`);
  if (d.reproduce.rerunCommand) lines.push(`  rerun:     FAILED_TESTS=... ${d.reproduce.rerunCommand}`);
  for (const f of d.fixes) lines.push(`  tried:     cycle ${f.cycle} ${f.commit} by ${fixedBy(f)}${f.addresses.length ? ` for ${f.addresses.join(', ')}` : ''}: ${f.outcome ?? 'pending'}`);
  if (d.links.report) lines.push(`  report:    ${d.links.report}`);
  lines.push(`  fixed:     ${d.respond.fix}`, `  can't fix: ${d.respond.cannotFix}`);
  return lines.join('\n');
}
