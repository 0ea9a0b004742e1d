/** Human-readable output of the CLI (JSON goes out as it is, with --json). */
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
  if (s.reason) lines.push(`  why:       ${s.reason}`);
  if (s.time) lines.push(`  time:      ${describeTime(timeSpentAt(s.time, s.phase, new Date()), s.time.timeToGreenMs)}`);
  lines.push(`  updated:   ${s.updatedAt}`);
  return lines.join('\n');
}

export function formatTable(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}
