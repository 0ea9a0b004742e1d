/**
 * The loop's own report, rendered from its state: pure, so the `report` query and the saved
 * loop-report.md say the same thing. The full diagnosis of each cycle is in the file it links to.
 */
import { describeDiff } from '../handoff/diff';
import { diffSection, escalationLine, fixLine } from '../handoff/render';
import { mdCell as cell, testCounts as counts } from '../render';
import { describeRootCauses, type CycleRecord, type EarlierCycles, type LoopStatus, type ServiceLogsRecord } from './state';
import type { CandidateRecord } from './promote';
import { describeTime, describeTimeSpent, formatDuration } from './time';

function serviceLogsLines(l: ServiceLogsRecord): string[] {
  const where = `${l.source === 'cloud-logging' ? 'Cloud Logging' : 'verify.logsCommand'}${l.revision ? `, revision ${l.revision}` : ''}`;
  if (l.error) return [`- **Service logs** (${where}): not read: ${l.error}`];
  const says = l.verdict ? `: **${l.verdict}** (${l.category})` : l.top.length ? ': nothing conclusive' : ': no errors since the deploy';
  const lines = [`- **Service logs** (${where}), ${l.read} error entries, ${l.top.length} distinct${says}`];
  // Entries keep their line breaks (stack traces): an indented code block each.
  for (const e of l.top) lines.push(`  - ${e.count} ×`, '', ...e.text.split('\n').map((t) => `        ${t}`), '');
  return lines;
}

/** verify-then-promote: what the candidate showed on its own URL, and what became of it. */
function candidateLine(c: CandidateRecord): string {
  const checks = [
    c.verify && `health ${c.verify.healthy ? 'healthy' : 'unhealthy'} after ${c.verify.attempts} checks`,
    c.tests && `tests: ${c.tests.summary}`,
  ].filter(Boolean);
  const outcome = c.outcome === 'promoted' ? 'promoted: all traffic to it' : c.outcome === 'discarded' ? 'discarded: it never served anyone' : 'not decided yet';
  return `- **Candidate** ${c.revision ?? '(not deployed)'} on tag \`${c.tag}\`${c.url ? ` (${c.url})` : ''}${checks.length ? `: ${checks.join('; ')}` : ''}; ${outcome}`;
}

function cycleSection(c: CycleRecord): string {
  const lines = [`## Cycle ${c.cycle}`, '', `Started ${c.startedAt}. Tests: ${counts(c.tests)}. Verdict: **${c.verdict ?? 'pending'}**.`, ''];
  if (c.compacted) {
    // An older cycle kept short: the full root causes are in its diagnosis.
    if (c.rootCauses.length) lines.push(`Root causes: ${c.rootCauses.map((r) => `${r.count} × ${r.category}`).join(', ')}.`, '');
  } else if (c.rootCauses.length) {
    lines.push('| Root cause | Failures | Summary | Hypothesis |', '|---|---:|---|---|');
    for (const r of c.rootCauses) lines.push(`| ${r.category} | ${r.count} | ${cell(r.summary)} | ${cell(r.hypothesis)} |`);
    lines.push('');
  }
  if (c.failedFirst) lines.push(`- **Failed tests first**: ${c.failedFirst.summary} (${(c.failedFirst.durationMs / 1000).toFixed(1)} s)`, '');
  lines.push(...diffSection(c.diff));
  if (c.reportPath) lines.push(`Full diagnosis: [${c.reportPath}](${c.reportPath})`, '');
  if (c.escalation) lines.push(escalationLine(c.escalation));
  if (c.fix) lines.push(fixLine(c.fix));
  if (c.deploy) {
    const d = c.deploy;
    const what = d.error
      ? `failed: ${d.error}`
      : d.alreadyServing
        ? `already serving${d.revision ? ` as ${d.revision}` : ''}`
        : `${d.kind}${d.revision ? `, revision ${d.revision}` : ''}${d.previousRevision ? ` (previous ${d.previousRevision})` : ''} in ${(d.durationMs / 1000).toFixed(1)} s`;
    lines.push(`- **Deploy** of \`${d.commit}\`: ${what}`);
  }
  if (c.candidate) lines.push(candidateLine(c.candidate));
  if (c.verify) {
    lines.push(`- **Verify**: ${c.verify.healthy ? 'healthy' : 'unhealthy'} after ${c.verify.attempts} checks (${(c.verify.durationMs / 1000).toFixed(1)} s)`);
    for (const e of c.verify.evidence) lines.push(`  - ${e}`);
  }
  if (c.serviceLogs) lines.push(...serviceLogsLines(c.serviceLogs));
  if (c.rollback) lines.push(`- **Rollback** to ${c.rollback.revision}${c.rollback.from ? ` from ${c.rollback.from}` : ''}: staging ${c.rollback.healthyAfter ? 'healthy' : 'still unhealthy'} afterwards`);
  if (c.infra) {
    const i = c.infra;
    lines.push(`- **Blocked on infrastructure** since ${i.since}: ${i.reason}`);
    if (i.restoredAt) lines.push(`  - restored at ${i.restoredAt} (${i.restoredBy === 'signal' ? 'infraRestored' : 'health recheck'}, ${i.rechecks} rechecks)`);
  }
  if (c.outcome) lines.push(`- **Outcome**: ${c.outcome}`);
  if (c.time && !c.compacted) lines.push(`- **Time**: ${describeTimeSpent(c.time)}`);
  return lines.join('\n');
}

const tally = (counts: Partial<Record<string, number>>) =>
  Object.entries(counts)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || 'none';

function earlierSection(e: EarlierCycles): string {
  return [
    `## The ${e.cycles} earliest cycles`,
    '',
    `Verdicts: ${tally(e.verdicts)}. Failures by root cause: ${tally(e.categories)}. Fixes received: ${e.fixes}.`,
  ].join('\n');
}

export function renderLoopReport(s: LoopStatus): string {
  const out = [
    `# ${s.name}: cycle ${s.cycle} of at most ${s.maxCycles}`,
    '',
    '| | |',
    '|---|---|',
    `| Phase | **${s.phase}**${s.waitingFor ? ` (waiting for ${s.waitingFor})` : ''} |`,
    `| Last run | ${counts(s.lastRun)} |`,
    `| Pending fix | ${s.pendingFix ? `\`${s.pendingFix.commit}\`` : 'none'} |`,
    `| Updated | ${s.updatedAt} |`,
  ];
  if (s.reason) out.push(`| Why | ${cell(s.reason)} |`);
  if (s.time) {
    out.push(`| Time | ${describeTimeSpent(s.time.total)} (current phase since ${s.time.phaseSince}) |`);
    if (s.time.timeToGreenMs !== null) out.push(`| Time to green | ${formatDuration(s.time.timeToGreenMs)} |`);
  }
  out.push('');
  // Newest first: the latest cycle is the report; the earlier ones are how the loop got there.
  for (const c of [...s.cycles].reverse()) out.push(cycleSection(c), '');
  if (s.earlierCycles) out.push(earlierSection(s.earlierCycles), '');
  return out.join('\n');
}

/** The short Markdown shown on the workflow's page in the Web UI. */
export function renderCurrentDetails(s: LoopStatus): string {
  const lines = [`**${s.phase}**, cycle ${s.cycle} of ${s.maxCycles}`, '', `Last run: ${counts(s.lastRun)}`];
  if (s.rootCauses.length) lines.push('');
  for (const r of s.rootCauses) lines.push(`- ${r.count} × \`${r.category}\`: ${r.summary}`);
  const diff = s.cycles[s.cycles.length - 1]?.diff;
  if (diff?.since) lines.push('', `Against cycle ${diff.since}: ${describeDiff(diff)}`);
  // Waiting for a fix, the reason is the root causes above: say it once.
  if (s.reason && s.reason !== describeRootCauses(s.rootCauses)) lines.push('', s.reason);
  if (s.time) lines.push('', `Time so far: ${describeTime(s.time.total, s.time.timeToGreenMs)}`);
  return lines.join('\n');
}
