/**
 * testDeployLoop: run the suite, diagnose, hand the failures to the fix team, wait for a fix, deploy
 * it, verify staging, and go round again until the suite is green. The story is `Loop.run`; its
 * steps are the methods below it; decisions are pure functions in ./state.ts. Waits for people are
 * durable conditions; bulky data lives in files the activities write.
 */
import {
  ActivityCancellationType,
  type ActivityOptions,
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
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { LoopActivities } from '../activities';
import { ConfigError, durationMs, hasHandoff, parseLoopConfigAsStarted, type LoopConfig } from '../config';
import { FailureType, NON_RETRYABLE_TYPES } from '../errors';
import { candidateTag, candidateUrl, probesAt, taggedServiceUrl } from '../deploy/candidate';
import { secretEnvOf } from '../secrets';
import { buildHandoff } from '../handoff/document';
import { describeDiff, diffCycles } from '../handoff/diff';
import { fixedBy, fixRefusal, rememberCycle } from '../handoff/guards';
import { emptyMemory, type EscalationKind } from '../handoff/types';
import { failedFirstHeadline, judgeFailingTests, runsFailedFirst } from './failed-first';
import { HOST_HEARTBEAT, HOST_SCHEDULE_TO_START, hostLost } from './host';
import * as messages from './messages';
import { isCandidateStep, type CandidateRecord, type CandidateStep } from './promote';
import { LoopMetrics, loopSearchAttributes, searchAttributesAvailable } from './observe';
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
  judgeServiceLogs,
  readsServiceLogs,
  type CycleRecord,
  type FixRecord,
  type InfraBlock,
  type LoopStatus,
  type Phase,
  type ServiceLogsRecord,
  type ShipAttempt,
} from './state';
import { accountPhaseChange } from './time';

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
  /** When the deploy started (RFC 3339): the service's logs are read from then on. */
  since: string;
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
  /**
   * Loops started before 0.3.0 replay without its steps (the hand-off contract, failed-first, the
   * worker-specific queue, service logs, verify-then-promote, search attributes): one patch marker
   * for all of them, since each marker also costs the history a search-attribute upsert.
   */
  private readonly since030: boolean;
  private cannotFixAsked: messages.CannotFix | null = null;
  /** Root causes of this cycle that had their verified fixes (handoff.maxAttemptsPerCause): for people. */
  private exhausted: string[] = [];
  /** The JUnit reports of the latest run (on the worker that ran it): the failing tests to run again. */
  private failingRun: string[] | null = null;
  /** The queue of the worker holding those reports (null: a worker without one). */
  private failingHost: string | null = null;
  /** The last cycle ended with a verified fix: the next one runs the failures first. */
  private fixVerified = false;
  /** Set at the start of run: whether the server has the loop's search attributes. */
  private searchAttributes = false;
  private readonly metrics = new LoopMetrics();

  constructor(
    private readonly config: LoopConfig,
    carried?: LoopStatus,
  ) {
    this.acts = activitiesFor(config);
    this.status = carried ?? initialStatus(config.name, config.maxCycles, new Date());
    this.since030 = patched('0.3.0');
    this.handleMessages();
  }

  /** The cycle: test, diagnose, decide; a fix is awaited and shipped, infrastructure waited out. */
  async run(input: unknown): Promise<LoopResult> {
    this.searchAttributes = this.since030 && (await searchAttributesAvailable());
    for (let first = true; ; first = false) {
      if (!first && workflowInfo().continueAsNewSuggested) {
        await condition(allHandlersFinished);
        return continueAsNew<typeof testDeployLoop>(input, this.status);
      }
      const cycle = this.startCycle();
      const d = await this.diagnose(cycle, await this.test(cycle));
      if (this.since030) this.compareWithPrevious(cycle);
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
    const early = await this.failedFirst(cycle);
    if (early) return early;
    const { config } = this;
    const run = await this.acts.suite.runSuite({
      suite: config.suite,
      deploy: config.deploy,
      handoff: config.handoff,
      cycle: cycle.cycle,
      secretEnv: secretEnvOf(config.probes, config.handoff.webhookUrlEnv),
    });
    cycle.outputPath = run.outputPath;
    this.rememberRun(run);
    return run;
  }

  /** The run whose failing tests go first next time: its reports, and the worker that holds them. */
  private rememberRun(run: { junitPaths: string[]; hostQueue?: string }): void {
    this.failingRun = run.junitPaths;
    this.failingHost = run.hostQueue ?? null;
  }

  /**
   * After a verified fix, the previous failures run first: an early verdict in the status and to the
   * fix team. When they still fail that run is the cycle's (straight back to the fix team with it);
   * otherwise null, and the full suite gives the verdict.
   */
  private async failedFirst(cycle: CycleRecord): Promise<{ junitPaths: string[]; durationMs: number; hostQueue?: string } | null> {
    const { config, failingRun } = this;
    const wanted = runsFailedFirst(config.suite, this.fixVerified);
    this.fixVerified = false;
    // Loops that ran before failed-first keep their command sequence when replayed.
    if (!wanted || !failingRun || !this.since030) return null;
    const run = await this.runFailingTests({ cycle: cycle.cycle, purpose: 'failed-first' });
    const record = (cycle.failedFirst = judgeFailingTests(run));
    if (!run.ran) return null;
    const headline = failedFirstHeadline(record);
    this.setPhase('testing', headline);
    await this.notify('fix-team', `${this.status.name} cycle ${cycle.cycle}: ${headline}`);
    if (record.verdict !== 'still-failing') return null;
    this.rememberRun(run);
    return run;
  }

  /**
   * The previous run's failing tests again, on the worker that holds its reports; that worker gone,
   * on any worker (one on the same machine still finds the reports; elsewhere they are not run, and
   * the full suite gives the verdict).
   */
  private async runFailingTests(input: { cycle: number; purpose: 'failed-first' | 'candidate'; stagingUrl?: string | null }) {
    const { config } = this;
    const acts = this.failingHost ? this.acts.suiteOnHost(this.failingHost) : this.acts.suite;
    const request = { ...input, suite: config.suite, fromJunit: this.failingRun ?? [], secretEnv: secretEnvOf(config.probes, config.handoff.webhookUrlEnv) };
    try {
      return await acts.runFailingTests(request);
    } catch (err) {
      if (!this.failingHost || !hostLost(err)) throw err;
      log.warn('the worker that ran the suite is gone: running the failing tests on another', { queue: this.failingHost });
      return await this.acts.suite.runFailingTests(request);
    }
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
      const onHost = this.since030 && run.hostQueue;
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
    if (this.since030) return this.awaitFixOrPeople(why);
    await this.notify('fix-team', `${this.status.name} cycle ${this.status.cycle}: ${why}`);
    const reminder = durationMs(this.config.handoff.remindEvery);
    while (!(await condition(() => this.status.pendingFix !== null || this.retestAsked !== null, reminder))) {
      await this.notify('fix-team', `${this.status.name} is still waiting for a fix`, true);
    }
    return this.status.pendingFix ? 'fix' : 'retest';
  }

  /**
   * awaitFix under the hand-off contract: the document handed over, and the guards: root causes
   * that had their attempts, a hand-off command that keeps failing, an agent that gives up
   * (cannotFix) or answers nothing within handoff.agentTimeout go to people; the loop still takes a fix.
   */
  private async awaitFixOrPeople(why: string): Promise<'fix' | 'retest'> {
    const { handoff } = this.config;
    const memory = this.memory;
    memory.escalation = null;
    this.cannotFixAsked = null;
    const diff = this.current.diff;
    const tried = this.status.cycles[this.status.cycles.length - 2]?.fix;
    const since = diff?.since ? `${tried ? `after ${tried.commit} by ${fixedBy(tried)}: ` : ''}${describeDiff(diff)}. ` : '';
    const headline = `${this.status.name} cycle ${this.status.cycle}: ${since}${why}`;
    if (this.exhausted.length) {
      const n = handoff.maxAttemptsPerCause;
      await this.escalate('max-attempts', `still failing after ${n} verified ${n === 1 ? 'fix' : 'fixes'} that claimed ${this.exhausted.length === 1 ? 'it' : 'them'}: ${this.exhausted.join(', ')}`, this.exhausted, null);
    } else if (!(await this.handOff(headline))) {
      await this.escalate('handoff-failed', 'the hand-off could not be delivered (retried)', [], null);
    }
    const reminder = durationMs(handoff.remindEvery);
    let nextReminder = Date.now() + reminder;
    let agentDeadline = handoff.agentTimeout ? Date.now() + durationMs(handoff.agentTimeout) : Infinity;
    for (;;) {
      const wake = Math.max(1, Math.min(nextReminder, agentDeadline) - Date.now());
      if (await condition(() => this.status.pendingFix !== null || this.retestAsked !== null || this.cannotFixAsked !== null, wake)) {
        const gaveUp = this.cannotFixAsked as messages.CannotFix | null;
        if (!gaveUp || this.status.pendingFix || this.retestAsked !== null) break;
        this.cannotFixAsked = null;
        await this.escalate('cannot-fix', `the fix team cannot fix it: ${gaveUp.reason}`, messages.boundedFingerprints(gaveUp.fingerprints), gaveUp.agent ?? null);
        continue;
      }
      if (Date.now() >= agentDeadline) {
        agentDeadline = Infinity;
        if (!memory.escalation) await this.escalate('agent-timeout', `no fix, cannotFix or retest within handoff.agentTimeout (${handoff.agentTimeout})`, [], null);
      }
      if (Date.now() >= nextReminder) {
        nextReminder += reminder;
        await this.handOff(`${this.status.name} is still waiting for ${memory.escalation ? 'a person' : 'a fix'}`, 'reminder');
      }
    }
    memory.escalation = null;
    return this.status.pendingFix ? 'fix' : 'retest';
  }

  /** Asks people to step in: the fix team's webhook says "needs a person", status waitingFor "people". */
  private async escalate(kind: EscalationKind, reason: string, fingerprints: string[], by: string | null): Promise<void> {
    const { status } = this;
    const escalation = { kind, at: new Date().toISOString(), reason: boundedReason(reason), fingerprints, by };
    this.memory.escalation = this.current.escalation = escalation;
    status.waitingFor = 'people';
    status.reason = boundedReason(`needs a person: ${reason}`);
    status.updatedAt = escalation.at;
    setCurrentDetails(renderCurrentDetails(status));
    // The Web UI's list shows it too (WaitingFor = "people").
    if (this.searchAttributes) upsertSearchAttributes(loopSearchAttributes(status));
    log.warn('hand-off escalated to people', { kind, reason: escalation.reason });
    await this.handOff(`${status.name} needs a person: ${reason}`, 'escalation');
  }

  /** The hand-off document to the fix team; false when it could not be delivered (retried first). */
  private async handOff(headline: string, kind: 'reminder' | 'escalation' | null = null): Promise<boolean> {
    if (!hasHandoff(this.config.handoff)) return true;
    const cycle = this.current;
    try {
      await this.acts.handoff.notify({
        handoff: this.config.handoff,
        audience: 'fix-team',
        loopName: this.status.name,
        workflowId: workflowInfo().workflowId,
        cycle: cycle.cycle,
        phase: this.status.phase,
        headline: boundedReason(kind === 'reminder' ? `Reminder: ${headline}` : headline),
        reportPath: cycle.reportPath,
        document: buildHandoff(this.status, this.config, workflowInfo().workflowId),
        kind,
      });
      return true;
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.warn('hand-off failed', { error: failureMessage(err) });
      return false;
    }
  }

  /** After a diagnosis: the diff against the cycle before, and what the guards remember of it. */
  private compareWithPrevious(cycle: CycleRecord): void {
    const memory = this.memory;
    const previous = this.status.cycles[this.status.cycles.indexOf(cycle) - 1] ?? null;
    cycle.diff = diffCycles(previous, cycle.rootCauses, memory.seen);
    this.exhausted = rememberCycle(memory, previous, cycle.diff, this.config.handoff.maxAttemptsPerCause);
  }

  private get memory() {
    return (this.status.handoff ??= emptyMemory());
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
        if (isCandidateStep(next)) {
          await this.candidateStep(next, attempt.candidate!);
        } else if (next.step === 'verify') {
          this.setPhase('verifying');
          // After a promotion the service is checked with its probes too, at their configured URLs.
          attempt.verify = cycle.verify = await this.checkHealth(false, attempt.candidate ? this.config.probes : undefined);
        } else if (next.step === 'rollback') {
          const rb = await this.acts.rollback.rollback({ deploy: this.config.deploy, toRevision: next.to });
          const after = await this.checkHealth(true);
          attempt.rollback = cycle.rollback = { revision: rb.revision, from: rb.from, healthyAfter: after.healthy };
          this.metrics.rolledBack();
        } else if (next.step === 'logs') {
          attempt.logs = cycle.serviceLogs = await this.readServiceLogs(attempt);
        } else if (next.step === 'end') {
          throw attempt.thrown;
        } else if (next.step === 'wait-infra') {
          if (!(await this.waitOutInfrastructure(next.why))) return 'gave-up';
          break; // infrastructure is back: the fix is still pending, deploy it again
        } else {
          // Done with this fix; a newer one that arrived meanwhile stays pending.
          if (this.status.pendingFix === fix) this.status.pendingFix = null;
          this.fixVerified = next.step === 'verified';
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
      since: new Date().toISOString(),
      // Loops started before the logs step replay without it.
      readsLogs: readsServiceLogs(config.deploy, config.verify) && this.since030,
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
    const candidate = this.newCandidate(cycle);
    if (candidate) Object.assign(attempt, { candidate, testsCandidate: config.verify.suite });
    try {
      const d = candidate ? await this.deployCandidate(cycle, fix, candidate) : await this.acts.deploy.deploy({ deploy: config.deploy, commit: fix.commit, cycle: cycle.cycle });
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

  /** The failing revision's error logs, judged; logs that cannot be read are noted, never fatal. */
  private async readServiceLogs(attempt: Attempt): Promise<ServiceLogsRecord> {
    const { config } = this;
    const revision = attempt.deployed?.revision ?? null;
    const source = config.verify.logsCommand ? 'command' : 'cloud-logging';
    try {
      const logs = await this.acts.logs.serviceLogs({
        deploy: config.deploy,
        verify: config.verify,
        commit: attempt.commit,
        revision,
        since: attempt.since,
        cycle: this.status.cycle,
      });
      return { ...logs, revision, ...judgeServiceLogs(logs.top), error: null };
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.warn('service logs unavailable', { error: failureMessage(err) });
      return { source, revision, read: 0, top: [], verdict: null, category: null, decidingEntry: null, error: failureMessage(err) };
    }
  }

  /** verify-then-promote: the fix's candidate, tagged for this loop and cycle; null for a direct deploy. */
  private newCandidate(cycle: CycleRecord): CandidateRecord | null {
    const d = this.config.deploy;
    if (d.kind !== 'cloud-run' || d.strategy !== 'verify-then-promote' || !this.since030) return null;
    const tag = candidateTag(this.status.name, workflowInfo().workflowId, cycle.cycle, d.service);
    return (cycle.candidate = { tag, revision: null, url: null, verify: null, tests: null, outcome: null });
  }

  /** The candidate revision with no traffic, under its tag; what it reports, as a direct deploy's record. */
  private async deployCandidate(cycle: CycleRecord, fix: FixRecord, candidate: CandidateRecord) {
    const { tag: _tag, url, ...d } = await this.acts.deploy.deployCandidate({ deploy: this.config.deploy, commit: fix.commit, cycle: cycle.cycle, tag: candidate.tag });
    Object.assign(candidate, { revision: d.revision, url });
    return d;
  }

  /** One step of the candidate's path: checked on its own URL, then promoted or discarded. */
  private async candidateStep(next: CandidateStep, c: CandidateRecord): Promise<void> {
    const { config } = this;
    if (next.step === 'verify-candidate') {
      this.setPhase('verifying', `checking candidate ${c.revision} on its own URL before it gets traffic`);
      const probes = probesAt(config.probes, [config.verify.url, taggedServiceUrl(c.url!, c.tag)], c.url!);
      c.verify = await this.acts.verify.verify({ verify: { ...config.verify, url: candidateUrl(config.verify.url!, c.url!) }, probes });
    } else if (next.step === 'test-candidate') {
      this.setPhase('verifying', `running the failing tests against candidate ${c.revision}`);
      c.tests = judgeFailingTests(await this.runFailingTests({ cycle: this.status.cycle, purpose: 'candidate', stagingUrl: c.url }));
    } else if (next.step === 'promote') {
      this.setPhase('deploying', `promoting candidate ${c.revision}: all traffic to it`);
      await this.acts.rollback.promote({ deploy: config.deploy, revision: c.revision!, tag: c.tag });
      c.outcome = 'promoted';
    } else {
      await this.acts.rollback.discard({ deploy: config.deploy, tag: c.tag });
      c.outcome = 'discarded';
    }
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

  /** Staging's health: polled until verify.timeout, or one check (`once`); `probes` judged too. Only called when verify.url is set. */
  private checkHealth(once = false, probes?: LoopConfig['probes']) {
    return this.acts.verify.verify({ verify: { ...this.config.verify, url: this.config.verify.url! }, maxAttempts: once ? 1 : undefined, probes });
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
    accountPhaseChange(status, phase, new Date());
    status.phase = phase;
    status.waitingFor = waitingForOf(phase);
    status.reason = reason;
    status.updatedAt = new Date().toISOString();
    boundStatus(status);
    setCurrentDetails(renderCurrentDetails(status));
    // Search attributes (or, on a server without them, the memo) let `tdl list` and the Web UI show
    // phase and cycle without a query per loop; one event per change.
    if (this.memoPhase !== phase) {
      if (this.searchAttributes) upsertSearchAttributes(loopSearchAttributes(status));
      // The memo also carries the time so far, which `tdl list --json` shows.
      upsertMemo({ phase, cycle: status.cycle, time: status.time });
      this.memoPhase = phase;
    }
    this.metrics.phaseChanged(status);
  }

  private handleMessages(): void {
    setHandler(messages.status, () => this.status);
    setHandler(messages.report, () => renderLoopReport(this.status));
    setHandler(messages.handoff, () => buildHandoff(this.status, this.config, workflowInfo().workflowId));
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
          const refusal = fixRefusal(this.status.handoff ?? emptyMemory(), this.status.cycles, fix);
          if (refusal) throw new Error(refusal);
        },
      },
    );
    setHandler(
      messages.cannotFix,
      (arg) => {
        this.cannotFixAsked = arg;
        return { escalated: true, cycle: this.status.cycle };
      },
      {
        validator: (arg) => {
          const problem = messages.cannotFixProblem(arg);
          if (problem) throw new Error(problem);
          const { phase } = this.status;
          if (!this.since030) throw new Error('this loop was started by a version without cannotFix: tell the team directly');
          if (phase !== 'awaiting-fix') throw new Error(`the loop is not waiting for a fix (phase ${phase}): nothing to give up on now`);
          const unknown = (arg.fingerprints ?? []).filter((f: string) => !(this.status.handoff?.seen ?? []).includes(f));
          if (unknown.length) throw new Error(`fingerprints: ${unknown.join(', ')} not diagnosed by this loop; use fingerprints from \`tdl handoff\``);
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
    const refusal = this.since030 ? fixRefusal(this.status.handoff ?? emptyMemory(), this.status.cycles, fix) : null;
    if (refusal) {
      log.warn(`fixCommitted ignored: ${refusal}`);
      return;
    }
    this.status.pendingFix = {
      commit,
      // A signal cannot be refused for its size either: over-long text is cut, saying so.
      summary: messages.boundedText('summary', fix.summary),
      author: messages.boundedText('author', fix.author),
      receivedAt: new Date().toISOString(),
      via,
      ...(this.since030 && {
        addresses: messages.boundedFingerprints(fix.addresses),
        prUrl: messages.boundedText('prUrl', fix.prUrl),
        branch: messages.boundedText('branch', fix.branch),
        agent: messages.boundedText('agent', fix.agent),
      }),
    };
  }
}

/** Bad input fails the loop at once: retrying the same input can never succeed. */
function parseInput(input: unknown): LoopConfig {
  try {
    // Loops started before durations had bounds replay with the rule they ran with. A replay asks
    // whatever the input: v0.2.0 recorded the marker in every loop, and a marker must meet its call.
    const startedBounded = () => patched('bounded-durations');
    if (workflowInfo().unsafe.isReplaying) startedBounded();
    return parseLoopConfigAsStarted(input, startedBounded);
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
  const suite: ActivityOptions = {
    startToCloseTimeout: durationMs(config.suite.timeout) + 120_000,
    heartbeatTimeout: '30s',
    // Cancellation must wait until the test processes are really gone.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { ...retry, maximumAttempts: 3 },
  };
  return {
    suite: proxyActivities<LoopActivities>(suite),
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
    // The hand-off command may run a coding agent for minutes: bounded by handoff.timeout, retried, then escalated.
    handoff: proxyActivities<LoopActivities>({
      startToCloseTimeout: durationMs(config.handoff.timeout) + 120_000,
      heartbeatTimeout: '30s',
      retry: { ...retry, initialInterval: '2s', maximumAttempts: 3 },
    }),
    // A few tries, then the loop decides without the logs.
    logs: proxyActivities<LoopActivities>({
      startToCloseTimeout: '6m',
      retry: { ...retry, initialInterval: '2s', maximumAttempts: 3 },
    }),
    verify: proxyActivities<LoopActivities>({
      startToCloseTimeout: durationMs(config.verify.timeout) + 120_000,
      heartbeatTimeout: durationMs(config.verify.interval) + 60_000,
      retry: { ...retry, maximumAttempts: 3 },
    }),
    /** The failing tests again, on the queue of the worker that holds the previous run's reports. */
    suiteOnHost: (taskQueue: string) => proxyActivities<LoopActivities>({ ...suite, taskQueue, scheduleToStartTimeout: HOST_SCHEDULE_TO_START }),
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
