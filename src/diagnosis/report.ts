/**
 * The cycle report in Markdown, modelled on the seed's hand-written one: summary table, results,
 * root causes with category, evidence and hypothesis, token characteristics, evidence of real
 * execution, next steps for whoever has to act. The output always passes through redaction.
 */
import { isInfrastructure } from './categorize';
import { formatFingerprint, redact } from './redact';
import { attemptOutcome, describeHttpCheck, mdCell as cell, mdCode as code, outcomes, VERDICTS } from '../render';
import type { Cluster, Diagnosis, ProbeEvidence, Verdict, WebSocketAttempt } from './types';

export interface CycleReportInput {
  loopName: string;
  cycle: number;
  /** The suite command as configured. */
  command: string;
  /** ISO time the suite started. */
  startedAt: string;
  /** Wall time of the suite run. */
  durationMs?: number;
  diagnosis: Diagnosis;
  probes?: ProbeEvidence;
  /** Values to mask besides the secret-named environment variables. */
  secrets?: string[];
}

const TESTS_LISTED = 10;

function seconds(ms: number): string {
  return ms >= 60_000 ? `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s` : `${(ms / 1000).toFixed(3)} s`;
}

function verdictLine(v: Verdict): string {
  const { mark, title, meaning } = VERDICTS[v];
  return `${mark} **${title}**: ${meaning}.`;
}

function summary(input: CycleReportInput): string[] {
  const d = input.diagnosis;
  const t = d.tests;
  const start = new Date(input.startedAt);
  const valid = !Number.isNaN(start.getTime());
  const end = valid && input.durationMs !== undefined ? new Date(start.getTime() + input.durationMs) : null;
  const hhmm = (date: Date) => date.toISOString().slice(11, 16);
  return [
    '| | |',
    '|---|---|',
    `| **Date** | ${valid ? start.toISOString().slice(0, 10) : cell(input.startedAt)} |`,
    `| **Time** | ${valid ? `${hhmm(start)}${end ? `-${hhmm(end)}` : ''} UTC` : '-'} |`,
    `| **Command** | ${code(cell(input.command))} |`,
    `| **Duration** | ${input.durationMs !== undefined ? seconds(input.durationMs) : '-'} (test time ${seconds(d.durationMs)}) |`,
    `| **Total tests** | ${t.total} |`,
    `| **Results** | ${outcomes(t)} |`,
    `| **Verdict** | ${d.verdict} |`,
  ];
}

function clusterSection(c: Cluster, index: number): string[] {
  const more = c.count - Math.min(c.tests.length, TESTS_LISTED);
  const lines = [
    `### ${index + 1}. ${c.category}: ${c.count} test${c.count === 1 ? '' : 's'}${isInfrastructure(c.category) ? ' (infrastructure)' : ''}`,
    '',
    `**Hypothesis**: ${c.hypothesis}`,
    '',
    `**Signature**: ${code(c.signature)}${c.decidedBy === 'probes' ? ' (category decided by the live probes)' : ''}`,
    '',
    ...(c.variants.length > 0 ? ['**Variants** (one root cause, several errors at one place):', ...c.variants.map((v) => `- ${code(v.message)}: ${v.count}`), ''] : []),
    '**Evidence**:',
    '```',
    ...c.evidence,
    '```',
  ];
  if (c.message) lines.push('', '**Message** (first test):', '```', c.message, '```');
  lines.push('', '**Tests**:', ...c.tests.slice(0, TESTS_LISTED).map((t) => `- ${code(t)}`));
  if (more > 0) lines.push(`- … and ${more} more`);
  return lines;
}

function attemptLine(a: WebSocketAttempt): string {
  return `| ${cell(a.label)} | ${cell(attemptOutcome(a))} | ${a.firstMessage ? code(cell(a.firstMessage)) : '-'} | ${a.ms} ms |`;
}

function probeSection(p: ProbeEvidence): string[] {
  const lines: string[] = [];
  if (p.jwt) {
    const j = p.jwt;
    const fp = j.fingerprint;
    lines.push('### Token characteristics', '');
    if (fp) {
      lines.push(
        `- Fingerprint: ${code(formatFingerprint(fp))}`,
        `- Length: ${fp.length} characters; dots: ${fp.dots}${fp.dots === 2 ? ' (JWT structure)' : ''}`,
        `- Prefix: ${code(fp.prefix || '-')}; suffix: ${code(fp.suffix || '-')}`,
        `- Bearer prefix in ${code(j.tokenEnv)}: ${fp.bearer ? 'yes' : 'no'}`,
      );
    }
    if (j.wellFormed) {
      lines.push(
        `- Header: alg ${j.alg ?? '-'}, kid ${j.kid ?? '-'}`,
        `- Claims: iss ${j.issuer ?? '-'}, aud ${j.audience.join(', ') || '-'}, iat ${j.issuedAt ?? '-'}, nbf ${j.notBefore ?? '-'}, exp ${j.expiresAt ?? '-'}`,
        `- Signature: ${j.signature}`,
      );
    }
    lines.push(`- Result: ${j.valid ? 'valid' : `**not valid**: ${j.problems.join('; ')}`}`, '');
  }
  if (p.websocket) {
    lines.push(`### WebSocket handshake probe: ${code(p.websocket.url)}`, '', '| attempt | result | first message | time |', '|---|---|---|---|');
    lines.push(...p.websocket.attempts.map(attemptLine), '');
  }
  if (p.http) {
    const h = p.http;
    lines.push(
      `### Health probe: ${code(h.url)}`,
      '',
      `- ${describeHttpCheck(h)}: ${h.healthy ? 'healthy' : '**unhealthy**'}`,
    );
    if (h.body) lines.push(`- Body: ${code(cell(h.body))}`);
    lines.push('');
  }
  return lines;
}

function realExecution(d: Diagnosis): string[] {
  if (d.slowestTests.length === 0) return ['No test ran.'];
  const zero = d.tests.total > 0 && d.durationMs === 0;
  return [
    `- Test time reported by the runner: ${seconds(d.durationMs)}${zero ? ' (**every test reports 0 s: check that the suite really ran**)' : ''}`,
    `- Slowest tests: ${d.slowestTests.map((t) => `${code(t.id)} ${seconds(t.timeMs)}`).join(', ')}`,
  ];
}

function nextSteps(d: Diagnosis): string[] {
  const infra = d.clusters.filter((c) => isInfrastructure(c.category));
  const codeClusters = d.clusters.filter((c) => !isInfrastructure(c.category));
  switch (d.verdict) {
    case 'passed':
      return ['Nothing to do: the loop is done.'];
    case 'flaky':
      return [`Nothing blocks the release. Look at the flaky tests when there is time: ${d.flakyTests.map(code).join(', ')}.`];
    case 'infrastructure':
      return [
        '**For the infrastructure team**: restore the service; the loop tests again when it is back (or when told with `tdl infra-restored`).',
        ...infra.map((c, i) => `${i + 1}. ${c.category}: ${c.hypothesis}`),
        'No code fix is asked of the fix team for this cycle.',
      ];
    case 'code':
    case 'mixed': {
      const steps = codeClusters.map((c, i) => `${i + 1}. ${c.category} (${c.count} tests): ${c.hypothesis}`);
      const head = '**For the fix team**: fix the root causes below, commit, and report it with `tdl fix <loop> --commit <sha>`.';
      const infraFirst =
        d.verdict === 'mixed'
          ? ['**For the infrastructure team first**:', ...infra.map((c) => `- ${c.category}: ${c.hypothesis}`), '']
          : [];
      return [...infraFirst, head, ...steps];
    }
  }
}

export function renderCycleReport(input: CycleReportInput): string {
  const d = input.diagnosis;
  const lines = [
    `# ${input.loopName}: test-deploy loop cycle ${input.cycle} report`,
    '',
    verdictLine(d.verdict),
    '',
    '## Test execution summary',
    '',
    ...summary(input),
    '',
  ];
  if (d.clusters.length > 0) {
    lines.push(`## Root causes (${d.clusters.length} for ${d.tests.failed + d.tests.errored} failing tests)`, '');
    d.clusters.forEach((c, i) => lines.push(...clusterSection(c, i), ''));
  }
  if (d.flakyTests.length > 0) lines.push('## Flaky tests (passed on retry)', '', ...d.flakyTests.map((t) => `- ${code(t)}`), '');
  if (input.probes) lines.push('## Live probes', '', `Run at ${input.probes.at}.`, '', ...probeSection(input.probes));
  lines.push('## Evidence of real execution', '', ...realExecution(d), '');
  if (d.warnings.length > 0) lines.push('## Warnings', '', ...d.warnings.map((w) => `- ${w}`), '');
  lines.push('## Next steps', '', ...nextSteps(d), '');
  return redact(lines.join('\n'), input.secrets);
}
