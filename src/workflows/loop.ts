/**
 * testDeployLoop: run the suite, diagnose, hand the failures to the fix team, wait for a fix, deploy
 * it, verify staging, and go round again until the suite is green. The story is `Loop.run`; its
 * steps are the methods below it; decisions are pure functions in ./state.ts. Waits for people are
 * durable conditions; bulky data lives in files the activities write.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  allHandlersFinished,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { LoopActivities } from '../activities';
import { ConfigError, durationMs, hasHandoff, parseLoopConfig, type LoopConfig } from '../config';
import { FailureType, NON_RETRYABLE_TYPES } from '../errors';
import { secretEnvOf } from '../secrets';
import { HOST_HEARTBEAT, HOST_SCHEDULE_TO_START, hostLost } from './host';
import * as messages from './messages';
import { renderCurrentDetails, renderLoopReport } from './report';
import {
  FINAL_PHASES,
  boundStatus,
  boundedReason,
  initialStatus,
  startCycle,
  nextAfterDiagnosis,
  nextShipStep,
  waitingForOf,
  describeRootCauses,
  type CycleRecord,
  type FixRecord,
  type InfraBlock,
  type LoopStatus,
  type Phase,
  type ShipAttempt,
} from './state';

export interface LoopResult {
  name: string;
  phase: Phase;
  cycles: number;
  reason: string | null;
  reportPath: string | null;
}

export async function testDeployLoop(input: unknown, carried?: LoopStatus): Promise<LoopResult> {
  const loop = new Loop(parseInput(input), carried);
  try {
    return await loop.run(input);
  } catch (err) {
    throw await loop.failed(err);
  }
}

/** One attempt at shipping a fix; a deploy failure as thrown, rethrown when it ends the loop. */
interface Attempt extends ShipAttempt {
  thrown?: unknown;
}

/** The loop's state, its message handlers and its steps. */
class Loop {
  readonly status: LoopStatus;
  private readonly acts: ReturnType<typeof activitiesFor>;
  /** Messages not yet acted on; each wait clears what came before it. */
  private retestAsked: string | null = null;
  private infraRestoredNote: string | null = null;
  private reportPath: string | null = null;
  private memoPhase: Phase | null = null;

  constructor(
    private readonly config: LoopConfig,
    carried?: LoopStatus,
  ) {
    this.acts = activitiesFor(config);
    this.status = carried ?? initialStatus(config.name, config.maxCycles, new Date());
    this.handleMessages();
  }

  /** The cycle: test, diagnose, decide; a fix is awaited and shipped, infrastructure waited out. */
  async run(input: unknown): Promise<LoopResult> {
    for (let first = true; ; first = false) {
      if (!first && workflowInfo().continueAsNewSuggested) {
        await condition(allHandlersFinished);
        return continueAsNew<typeof testDeployLoop>(input, this.status);
      }
      const cycle = this.startCycle();
      const d = await this.diagnose(cycle, await this.test(cycle));
      switch (nextAfterDiagnosis(d.verdict, cycle.cycle, this.config.maxCycles)) {
        case 'passed':
          return this.finish('passed', `all ${d.tests.total} tests passed in cycle ${cycle.cycle}`);
        case 'gave-up':
          return this.finish('gave-up', `still failing after ${this.config.maxCycles} cycles: ${describeRootCauses(d.rootCauses)}`);
        case 'retest':
          cycle.outcome = 'only flaky failures: running again';
          continue;
        case 'blocked-infra':
          if (!(await this.waitOutInfrastructure(`the suite failed on infrastructure: ${describeRootCauses(d.rootCauses)}`))) {
            return this.finish('gave-up', this.infraNotRestored());
          }
          cycle.outcome = 'infrastructure restored: running again';
          continue;
        case 'awaiting-fix':
          if (!(await this.handOver(cycle, describeRootCauses(d.rootCauses)))) return this.finish('gave-up', this.infraNotRestored());
          continue;
      }
    }
  }

  /**
   * awaiting-fix until a fix holds or a retest is asked for: each fix is shipped, one that did not
   * hold goes back with what went wrong. False when infrastructure was not restored in time.
   */
  private async handOver(cycle: CycleRecord, why: string): Promise<boolean> {
    for (;;) {
      if ((await this.awaitFix(why)) === 'retest') {
        cycle.outcome = `retest: ${this.retestAsked}`;
        return true;
      }
      const shipped = await this.shipPendingFix();
      if (shipped === 'gave-up') return false;
      if (shipped === 'verified') {
        cycle.outcome = `fix ${cycle.fix?.commit} deployed and verified: running the suite again`;
        return true;
      }
      why = cycle.outcome ?? why;
    }
  }

  /**
   * The one place a loop ends on a failure: cancelled (the running step has been stopped), or a step
   * that can never succeed (no such command, no JUnit report, a rejected deploy). Either way the
   * status says so and a report is left behind; returns what the workflow then throws.
   */
  async failed(err: unknown): Promise<unknown> {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => this.finish('cancelled', 'the loop was cancelled'));
      return err;
    }
    const type = failureType(err);
    if (!type || !NON_RETRYABLE_TYPES.includes(type as FailureType) || FINAL_PHASES.includes(this.status.phase)) return err;
    const message = failureMessage(err);
    await this.finish('gave-up', type === FailureType.DeployRejected ? `deploy rejected: ${message}` : message);
    return ApplicationFailure.create({ type, message, nonRetryable: true });
  }

  /** The one way a loop ends: the outcome recorded, the report saved. */
  private async finish(phase: Phase, reason: string): Promise<LoopResult> {
    this.current.outcome ??= reason;
    this.setPhase(phase, reason);
    this.reportPath = await this.acts.quick.saveReport(renderLoopReport(this.status));
    return { name: this.status.name, phase, cycles: this.status.cycle, reason: this.status.reason, reportPath: this.reportPath };
  }

  private infraNotRestored(): string {
    return `infrastructure not restored within ${this.config.infra.giveUpAfter}`;
  }

  private get current(): CycleRecord {
    return this.status.cycles[this.status.cycles.length - 1];
  }

  private startCycle(): CycleRecord {
    const cycle = startCycle(this.status, new Date());
    this.retestAsked = null;
    return cycle;
  }

  /** testing: the suite runs; its JUnit reports and output stay in files. */
  private async test(cycle: CycleRecord) {
    this.setPhase('testing');
    const { config } = this;
    const run = await this.acts.suite.runSuite({
      suite: config.suite,
      deploy: config.deploy,
      handoff: config.handoff,
      cycle: cycle.cycle,
      secretEnv: secretEnvOf(config.probes, config.handoff.webhookUrlEnv),
    });
    cycle.outputPath = run.outputPath;
    return run;
  }

  /**
   * diagnosing: counts, verdict and root causes enter the status; the report is published. The
   * diagnosis runs on the worker that ran the suite (its queue, from the suite's result); when that
   * worker is gone, the suite runs again on another.
   */
  private async diagnose(cycle: CycleRecord, run: { junitPaths: string[]; durationMs: number; hostQueue?: string }) {
    const { config, status } = this;
    let d;
    for (;;) {
      this.setPhase('diagnosing');
      const onHost = patched('worker-specific-queue') && run.hostQueue;
      try {
        d = await (onHost ? this.acts.onHost(run.hostQueue!) : this.acts.quick).diagnose({
          loopName: status.name,
          cycle: cycle.cycle,
          command: config.suite.command ?? `the worker's suite "${config.suite.use}"`,
          startedAt: cycle.startedAt,
          junitPaths: run.junitPaths,
          suiteDurationMs: run.durationMs,
          probes: config.probes,
        });
        break;
      } catch (err) {
        if (!onHost || !hostLost(err)) throw err;
        log.warn('the worker that ran the suite is gone: running the suite again', { cycle: cycle.cycle, queue: run.hostQueue });
        run = await this.test(cycle);
      }
    }
    Object.assign(cycle, { tests: d.tests, verdict: d.verdict, rootCauses: d.rootCauses, reportPath: d.reportPath });
    status.lastRun = d.tests;
    status.rootCauses = d.rootCauses;
    return d;
  }

  /** awaiting-fix: hand the failures over, then wait (reminding) for a fix or a retest. */
  private async awaitFix(why: string): Promise<'fix' | 'retest'> {
    this.setPhase('awaiting-fix', why);
    await this.notify('fix-team', `${this.status.name} cycle ${this.status.cycle}: ${why}`);
    const reminder = durationMs(this.config.handoff.remindEvery);
    while (!(await condition(() => this.status.pendingFix !== null || this.retestAsked !== null, reminder))) {
      await this.notify('fix-team', `${this.status.name} is still waiting for a fix`, true);
    }
    return this.status.pendingFix ? 'fix' : 'retest';
  }

  /**
   * deploying + verifying the pending fix, step by step as nextShipStep decides: a rollback and an
   * infrastructure block in between when staging does not come up, then the same fix again.
   */
  private async shipPendingFix(): Promise<'verified' | 'back-to-fix' | 'gave-up'> {
    for (;;) {
      const fix = this.status.pendingFix!;
      const cycle = this.current;
      cycle.fix = fix;
      this.setPhase('deploying');
      const attempt = await this.deploy(cycle, fix);
      for (let next = nextShipStep(attempt); ; next = nextShipStep(attempt)) {
        if (next.step === 'verify') {
          this.setPhase('verifying');
          attempt.verify = cycle.verify = await this.checkHealth();
        } else if (next.step === 'rollback') {
          const rb = await this.acts.rollback.rollback({ deploy: this.config.deploy, toRevision: next.to });
          const after = await this.checkHealth(true);
          attempt.rollback = cycle.rollback = { revision: rb.revision, from: rb.from, healthyAfter: after.healthy };
        } else if (next.step === 'end') {
          throw attempt.thrown;
        } else if (next.step === 'wait-infra') {
          if (!(await this.waitOutInfrastructure(next.why))) return 'gave-up';
          break; // infrastructure is back: the fix is still pending, deploy it again
        } else {
          // Done with this fix; a newer one that arrived meanwhile stays pending.
          if (this.status.pendingFix === fix) this.status.pendingFix = null;
          if (next.step === 'verified') return 'verified';
          cycle.outcome = next.why;
          return 'back-to-fix';
        }
      }
    }
  }

  /** deploying: the deploy and what it reported, or its failure, recorded in the cycle. */
  private async deploy(cycle: CycleRecord, fix: FixRecord): Promise<Attempt> {
    const { config } = this;
    const attempt: Attempt = {
      commit: fix.commit,
      deployFailure: null,
      deployed: null,
      verifies: Boolean(config.verify.url),
      verify: null,
      rollback: null,
    };
    // What is known of a deploy that did not report back: nothing but its error, if any.
    const bare = (error: string | null) => ({
      commit: fix.commit,
      kind: config.deploy.kind,
      revision: null,
      previousRevision: null,
      alreadyServing: false,
      durationMs: 0,
      logPath: null,
      error,
    });
    if (config.deploy.kind === 'none') {
      cycle.deploy = bare(null);
      return attempt;
    }
    try {
      const d = await this.acts.deploy.deploy({ deploy: config.deploy, commit: fix.commit, cycle: cycle.cycle });
      cycle.deploy = { ...d, error: null };
      attempt.deployed = d;
    } catch (err) {
      if (isCancellation(err)) throw err;
      const message = failureMessage(err);
      cycle.deploy = bare(message);
      attempt.deployFailure = { type: failureType(err), message };
      attempt.thrown = err;
    }
    return attempt;
  }

  /**
   * blocked-infra: wait for infraRestored, or recheck health on a durable timer, until giveUpAfter.
   * Returns false when the loop gave up.
   */
  private async waitOutInfrastructure(reason: string): Promise<boolean> {
    const { config, status } = this;
    const block: InfraBlock = { since: new Date().toISOString(), reason, restoredAt: null, restoredBy: null, rechecks: 0 };
    this.current.infra = block;
    // Only messages from now on are about this block.
    this.infraRestoredNote = null;
    this.retestAsked = null;
    this.setPhase('blocked-infra', reason);
    await this.notify('infra-team', `${status.name}: staging infrastructure is down. ${reason}`);
    const giveUpAt = Date.now() + durationMs(config.infra.giveUpAfter);
    let nextRecheck = Date.now() + durationMs(config.infra.recheckEvery);
    let nextReminder = Date.now() + durationMs(config.handoff.remindEvery);
    for (;;) {
      if (Date.now() >= giveUpAt) return false;
      // One durable timer for whichever comes first; a retest also ends the wait (someone knows staging is back).
      const wake = Math.max(1, Math.min(giveUpAt, nextRecheck, nextReminder) - Date.now());
      if (await condition(() => this.infraRestoredNote !== null || this.retestAsked !== null, wake)) {
        block.restoredBy = 'signal';
        break;
      }
      if (Date.now() >= nextReminder) {
        await this.notify('infra-team', `${status.name} is still blocked on infrastructure: ${reason}`, true);
        nextReminder += durationMs(config.handoff.remindEvery);
      }
      if (Date.now() < nextRecheck) continue;
      nextRecheck = Date.now() + durationMs(config.infra.recheckEvery);
      if (!config.verify.url) continue;
      block.rechecks++;
      if ((await this.checkHealth(true)).healthy) {
        block.restoredBy = 'recheck';
        break;
      }
    }
    block.restoredAt = new Date().toISOString();
    return true;
  }

  /** Staging's health: polled until verify.timeout, or one check (`once`). Only called when verify.url is set. */
  private checkHealth(once = false) {
    return this.acts.verify.verify({ verify: { ...this.config.verify, url: this.config.verify.url! }, maxAttempts: once ? 1 : undefined });
  }

  /** Tells a team, when the loop is configured to; a notification that cannot be sent never stops the loop. */
  private async notify(audience: 'fix-team' | 'infra-team', headline: string, reminder = false): Promise<void> {
    if (!hasHandoff(this.config.handoff)) return;
    const cycle = this.current;
    try {
      await this.acts.quick.notify({
        handoff: this.config.handoff,
        audience,
        loopName: this.status.name,
        workflowId: workflowInfo().workflowId,
        cycle: cycle.cycle,
        phase: this.status.phase,
        headline: boundedReason(reminder ? `Reminder: ${headline}` : headline),
        reportPath: cycle.reportPath,
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.warn('notification failed', { audience, error: failureMessage(err) });
    }
  }

  private setPhase(phase: Phase, reason: string | null = null): void {
    const { status } = this;
    status.phase = phase;
    status.waitingFor = waitingForOf(phase);
    status.reason = reason;
    status.updatedAt = new Date().toISOString();
    boundStatus(status);
    setCurrentDetails(renderCurrentDetails(status));
    // Memo lets `tdl list` show phase and cycle without a query per loop; one event per change.
    if (this.memoPhase !== phase) {
      upsertMemo({ phase, cycle: status.cycle });
      this.memoPhase = phase;
    }
  }

  private handleMessages(): void {
    setHandler(messages.status, () => this.status);
    setHandler(messages.report, () => renderLoopReport(this.status));
    setHandler(messages.fixCommitted, (fix) => this.receiveFix(fix, 'signal'));
    setHandler(
      messages.submitFix,
      (fix) => {
        this.receiveFix(fix, 'update');
        return { accepted: true, cycle: this.status.cycle };
      },
      {
        validator: (fix) => {
          const problem = messages.fixProblem(fix);
          if (problem) throw new Error(problem);
          if (FINAL_PHASES.includes(this.status.phase)) {
            throw new Error(`the loop has ended (${this.status.phase}): start a new loop to deploy ${fix.commit}`);
          }
        },
      },
    );
    setHandler(messages.infraRestored, (arg) => {
      this.infraRestoredNote = messages.boundedText('note', arg?.note) ?? '';
    });
    setHandler(messages.retest, (arg) => {
      this.retestAsked = messages.boundedText('reason', arg?.reason) ?? 'retest requested';
    });
  }

  private receiveFix(fix: messages.FixCommitted, via: FixRecord['via']): void {
    const problem = messages.commitProblem(fix?.commit);
    if (problem) {
      // A signal cannot be rejected: note it and keep waiting (submitFix rejects it instead).
      log.warn(`fixCommitted ignored: ${problem}`);
      return;
    }
    const commit = fix.commit.trim();
    if (this.status.pendingFix?.commit === commit) return; // the same fix reported twice deploys once
    this.status.pendingFix = {
      commit,
      // A signal cannot be refused for its size either: over-long text is cut, saying so.
      summary: messages.boundedText('summary', fix.summary),
      author: messages.boundedText('author', fix.author),
      receivedAt: new Date().toISOString(),
      via,
    };
  }
}

/** Bad input fails the loop at once: retrying the same input can never succeed. */
function parseInput(input: unknown): LoopConfig {
  try {
    // Loops started before durations had bounds replay with the rule they ran with.
    return parseLoopConfig(input, { durations: patched('bounded-durations') ? 'bounded' : 'legacy' });
  } catch (err) {
    if (err instanceof ConfigError) {
      throw ApplicationFailure.create({ type: FailureType.BadInput, message: `bad loop input: ${err.message}`, nonRetryable: true });
    }
    throw err;
  }
}

/** The failure type behind an activity failure, if it is one of ours. */
function failureType(err: unknown): string | null {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) return err.cause.type ?? null;
  return null;
}

/** Bounded: it goes into the status, notifications and the loop's own failure. */
function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return boundedReason(err.cause.message);
  return boundedReason(err instanceof Error ? err.message : String(err));
}

const retry = { nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES] };

function activitiesFor(config: LoopConfig) {
  const deployTimeoutMs = config.deploy.kind === 'none' ? 0 : durationMs(config.deploy.timeout);
  return {
    suite: proxyActivities<LoopActivities>({
      startToCloseTimeout: durationMs(config.suite.timeout) + 120_000,
      heartbeatTimeout: '30s',
      // Cancellation must wait until the test processes are really gone.
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      retry: { ...retry, maximumAttempts: 3 },
    }),
    quick: proxyActivities<LoopActivities>({
      startToCloseTimeout: '5m',
      retry: { ...retry, maximumAttempts: 5 },
    }),
    deploy: proxyActivities<LoopActivities>({
      startToCloseTimeout: deployTimeoutMs + 120_000,
      // Deployers report progress every 10 s; a dead worker's deploy is retried after 30 s.
      heartbeatTimeout: '30s',
      retry: { ...retry, initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '2m', maximumAttempts: 6 },
    }),
    // No heartbeat: a rollback is one update and a bounded wait.
    rollback: proxyActivities<LoopActivities>({
      startToCloseTimeout: deployTimeoutMs + 120_000,
      retry: { ...retry, initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '2m', maximumAttempts: 6 },
    }),
    verify: proxyActivities<LoopActivities>({
      startToCloseTimeout: durationMs(config.verify.timeout) + 120_000,
      heartbeatTimeout: durationMs(config.verify.interval) + 60_000,
      retry: { ...retry, maximumAttempts: 3 },
    }),
    /** The steps that read the suite's files, on the queue of the worker that ran it. */
    onHost: (taskQueue: string) =>
      proxyActivities<LoopActivities>({
        taskQueue,
        scheduleToStartTimeout: HOST_SCHEDULE_TO_START,
        startToCloseTimeout: '5m',
        heartbeatTimeout: HOST_HEARTBEAT,
        retry: { ...retry, maximumAttempts: 5 },
      }),
  };
}
