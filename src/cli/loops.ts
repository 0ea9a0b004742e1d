/** The commands that talk to running loops: start, fix, cannot-fix, infra-restored, retest, status, report, handoff, list. */
import { readFileSync } from 'node:fs';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ConfigError, parseLoopConfig, type LoopConfig } from '../config';
import * as messages from '../workflows/messages';
import { FINAL_PHASES, type LoopStatus, type Phase } from '../workflows/state';
import { timeSpentAt, type LoopTime, type TimeSpent } from '../workflows/time';
import { formatHandoff, formatStatus, formatTable } from './format';
import { OperationFailed, UsageError, type Io } from './io';
import { LoopCycle, LoopPhase, loopListQuery } from '../search-attributes';
import { GRPC_INVALID_ARGUMENT, grpcCode, loopStartSearchAttributes } from '../search-attributes-admin';

/** The loop input as written (it is what the loop gets) and its parsed form. */
export interface LoopInput {
  input: unknown;
  config: LoopConfig;
}

/**
 * Reads the loop input from --config FILE or --input JSON; bad input is a UsageError naming it.
 * Returns the input as written (it is what the loop gets) and its parsed form.
 */
export function readLoopInput(opts: { config?: string; input?: string }): LoopInput {
  if (!opts.config === !opts.input) throw new UsageError('give exactly one of --config FILE or --input JSON');
  const source = opts.config ? `--config ${opts.config}` : '--input';
  let text: string;
  try {
    text = opts.config ? readFileSync(opts.config, 'utf8') : opts.input!;
  } catch (err) {
    throw new UsageError(`${source}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${source}: not valid JSON (${(err as Error).message})`);
  }
  try {
    return { input, config: parseLoopConfig(input) };
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`${source}: ${err.message}`);
    throw err;
  }
}

export async function startLoop(
  client: Client,
  io: Io,
  { input, config }: LoopInput,
  opts: { workflowId?: string; taskQueue: string; json: boolean },
): Promise<number> {
  const { name } = config;
  const workflowId = opts.workflowId ?? `${name}-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}`;
  const handle = await client.workflow.start(messages.WORKFLOW_TYPE, {
    workflowId,
    taskQueue: opts.taskQueue,
    args: [input],
    staticSummary: `test-deploy-loop: ${name}`,
    typedSearchAttributes: await loopStartSearchAttributes(client, name),
  });
  io.out(opts.json ? JSON.stringify({ workflowId: handle.workflowId, runId: handle.firstExecutionRunId }) : handle.workflowId);
  return 0;
}

export async function submitFix(
  client: Client,
  io: Io,
  id: string,
  fix: messages.FixCommitted,
  json: boolean,
): Promise<number> {
  const rejected = (reason: string) => {
    io.out(json ? JSON.stringify({ accepted: false, reason }) : `fix rejected: ${reason}`);
    return 1;
  };
  // The loop's own check, before sending: the same reason without a round trip.
  const problem = messages.fixProblem(fix);
  if (problem) return rejected(problem);
  try {
    const result = await client.workflow.getHandle(id).executeUpdate(messages.submitFix, { args: [fix] });
    io.out(json ? JSON.stringify(result) : `fix ${fix.commit} accepted for cycle ${result.cycle} of ${id}`);
    return 0;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) return rejected(err.cause?.message ?? err.message);
    throw err;
  }
}

export async function cannotFix(client: Client, io: Io, id: string, arg: messages.CannotFix, json: boolean): Promise<number> {
  const problem = messages.cannotFixProblem(arg);
  const refused = (reason: string) => {
    io.out(json ? JSON.stringify({ escalated: false, reason }) : `cannot-fix refused: ${reason}`);
    return 1;
  };
  if (problem) return refused(problem);
  try {
    const result = await client.workflow.getHandle(id).executeUpdate(messages.cannotFix, { args: [arg] });
    io.out(json ? JSON.stringify(result) : `${id} asks a person now (cycle ${result.cycle}) and keeps waiting for a fix`);
    return 0;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) return refused(err.cause?.message ?? err.message);
    throw err;
  }
}

export async function showHandoff(client: Client, io: Io, id: string, json: boolean): Promise<number> {
  const doc = await client.workflow.getHandle(id).query(messages.handoff);
  io.out(json ? JSON.stringify(doc, null, 2) : formatHandoff(doc));
  return 0;
}

export async function signalLoop(
  client: Client,
  io: Io,
  id: string,
  signal: typeof messages.infraRestored | typeof messages.retest,
  arg: messages.InfraRestored & messages.Retest,
  json: boolean,
): Promise<number> {
  await client.workflow.getHandle(id).signal(signal as typeof messages.retest, arg);
  io.out(json ? JSON.stringify({ sent: signal.name, workflowId: id }) : `sent ${signal.name} to ${id}`);
  return 0;
}

export async function queryStatus(client: Client, id: string): Promise<LoopStatus> {
  return client.workflow.getHandle(id).query(messages.status);
}

export async function showStatus(client: Client, io: Io, id: string, opts: { json: boolean; watch: boolean; intervalMs?: number }): Promise<number> {
  for (;;) {
    const s = await queryStatus(client, id);
    if (opts.json) io.out(JSON.stringify(s));
    else {
      if (opts.watch && io.isTTY) io.out('\x1b[2J\x1b[H');
      io.out(formatStatus(id, s));
    }
    if (!opts.watch || FINAL_PHASES.includes(s.phase)) return 0;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 2000));
  }
}

export async function showReport(client: Client, io: Io, id: string): Promise<number> {
  io.out(await client.workflow.getHandle(id).query(messages.report));
  return 0;
}

export interface LoopListing {
  workflowId: string;
  status: string;
  phase: string | null;
  cycle: number | null;
  startTime: string;
  /** Where the loop's time went, as of now (null for loops from before time was accounted). */
  time: (TimeSpent & { timeToGreenMs: number | null }) | null;
}

export async function listLoops(client: Client, io: Io, opts: { json: boolean; limit: number; phase?: string }): Promise<number> {
  const loops: LoopListing[] = [];
  try {
    // Visibility lists newest first.
    for await (const wf of client.workflow.list({ query: loopListQuery(opts.phase) })) {
      // Search attributes where the server has them, the memo where it has not (and for older loops).
      const memo = (wf.memo ?? {}) as { phase?: Phase; cycle?: number; time?: LoopTime };
      const sa = wf.typedSearchAttributes;
      const phase = (sa.get(LoopPhase) as Phase | undefined) ?? memo.phase ?? null;
      const cycle = sa.get(LoopCycle) ?? memo.cycle ?? null;
      // The memo's totals are as of the last phase change: a running loop's current phase counts on to now.
      const time =
        memo.time && phase ? { ...timeSpentAt(memo.time, wf.status.name === 'RUNNING' ? phase : 'passed', new Date()), timeToGreenMs: memo.time.timeToGreenMs } : null;
      loops.push({ workflowId: wf.workflowId, status: wf.status.name, phase, cycle, startTime: wf.startTime.toISOString(), time });
      if (loops.length >= opts.limit) break;
    }
  } catch (err) {
    if (opts.phase !== undefined && grpcCode(err) === GRPC_INVALID_ARGUMENT) {
      throw new OperationFailed(`the server cannot filter by phase: search attribute ${LoopPhase.name} is not registered (run \`tdl setup\`)`);
    }
    throw err;
  }
  if (opts.json) io.out(JSON.stringify(loops));
  else if (loops.length === 0) io.out('no loops');
  else {
    const rows = [['WORKFLOW ID', 'PHASE', 'CYCLE', 'STATUS', 'STARTED']];
    for (const l of loops) rows.push([l.workflowId, l.phase ?? '-', l.cycle === null ? '-' : String(l.cycle), l.status, l.startTime]);
    io.out(formatTable(rows));
  }
  return 0;
}

/** Turns "no such loop" into a plain message. */
export function describeClientError(err: unknown): string | null {
  if (err instanceof WorkflowNotFoundError) return `no loop with workflow id ${err.workflowId}`;
  return null;
}
