/**
 * testDeployLoop: run the suite, diagnose, hand the failures to the fix team, wait for a fix, deploy
 * it, verify staging, and go round again until the suite is green. Waits for people are durable
 * conditions; decisions live in ./state.ts; bulky data lives in files the activities write.
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
import * as messages from './messages';
import { renderCurrentDetails, renderLoopReport } from './report';
import {
  FINAL_PHASES,
  boundStatus,
  boundedReason,
  initialStatus,
  startCycle,
  nextAfterDiagnosis,
  nextAfterFailedVerify,
  deployFailureLooksLikeInfrastructure,
  waitingForOf,
  describeRootCauses,
  type CycleRecord,
  type DeployRecord,
  type FixRecord,
  type InfraBlock,
  type LoopStatus,
  type Phase,
} from './state';

export interface LoopResult {
  name: string;
  phase: Phase;
  cycles: number;
  reason: string | null;
  reportPath: string | null;
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
  };
}

export async function testDeployLoop(input: unknown, carried?: LoopStatus): Promise<LoopResult> {
  const config = parseInput(input);
  const acts = activitiesFor(config);
  const status: LoopStatus = carried ?? initialStatus(config.name, config.maxCycles, new Date());
  let retestAsked: string | null = null;
  let infraRestoredNote: string | null = null;
  let reportPath: string | null = null;
  let memoPhase: Phase | null = null;

  const current = (): CycleRecord => status.cycles[status.cycles.length - 1];

  /** Staging's health: polled until verify.timeout, or one check (`once`). Only called when verify.url is set. */
  const checkHealth = (once = false) =>
    acts.verify.verify({ verify: { ...config.verify, url: config.verify.url! }, maxAttempts: once ? 1 : undefined });

  const setPhase = (phase: Phase, reason: string | null = null) => {
    status.phase = phase;
    status.waitingFor = waitingForOf(phase);
    status.reason = reason;
    status.updatedAt = new Date().toISOString();
    boundStatus(status);
    setCurrentDetails(renderCurrentDetails(status));
    // Memo lets `tdl list` show phase and cycle without a query per loop; one event per change.
    if (memoPhase !== phase) {
      upsertMemo({ phase, cycle: status.cycle });
      memoPhase = phase;
    }
  };

  const receiveFix = (fix: messages.FixCommitted, via: FixRecord['via']) => {
    const problem = messages.commitProblem(fix?.commit);
    if (problem) {
      // A signal cannot be rejected: note it and keep waiting (submitFix rejects it instead).
      log.warn(`fixCommitted ignored: ${problem}`);
      return;
    }
    const commit = fix.commit.trim();
    if (status.pendingFix?.commit === commit) return; // the same fix reported twice deploys once
    status.pendingFix = {
      commit,
      // A signal cannot be refused for its size either: over-long text is cut, saying so.
      summary: messages.boundedText('summary', fix.summary),
      author: messages.boundedText('author', fix.author),
      receivedAt: new Date().toISOString(),
      via,
    };
  };

  setHandler(messages.status, () => status);
  setHandler(messages.report, () => renderLoopReport(status));
  setHandler(messages.fixCommitted, (fix) => receiveFix(fix, 'signal'));
  setHandler(
    messages.submitFix,
    (fix) => {
      receiveFix(fix, 'update');
      return { accepted: true, cycle: status.cycle };
    },
    {
      validator: (fix) => {
        const problem = messages.fixProblem(fix);
        if (problem) throw new Error(problem);
        if (FINAL_PHASES.includes(status.phase)) {
          throw new Error(`the loop has ended (${status.phase}): start a new loop to deploy ${fix.commit}`);
        }
      },
    },
  );
  setHandler(messages.infraRestored, (arg) => {
    infraRestoredNote = messages.boundedText('note', arg?.note) ?? '';
  });
  setHandler(messages.retest, (arg) => {
    retestAsked = messages.boundedText('reason', arg?.reason) ?? 'retest requested';
  });

  const saveReport = async () => {
    reportPath = await acts.quick.saveReport(renderLoopReport(status));
  };

  const finish = async (phase: Phase, reason: string): Promise<LoopResult> => {
    current().outcome ??= reason;
    setPhase(phase, reason);
    await saveReport();
    return { name: status.name, phase, cycles: status.cycle, reason: status.reason, reportPath };
  };

  /** Tells a team, when the loop is configured to; a notification that cannot be sent never stops the loop. */
  const notify = async (audience: 'fix-team' | 'infra-team', headline: string, reminder = false) => {
    if (!hasHandoff(config.handoff)) return;
    const cycle = current();
    try {
      await acts.quick.notify({
        handoff: config.handoff,
        audience,
        loopName: status.name,
        workflowId: workflowInfo().workflowId,
        cycle: cycle.cycle,
        phase: status.phase,
        headline: boundedReason(reminder ? `Reminder: ${headline}` : headline),
        reportPath: cycle.reportPath,
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.warn('notification failed', { audience, error: failureMessage(err) });
    }
  };

  /**
   * blocked-infra: wait for infraRestored, or recheck health on a durable timer, until giveUpAfter.
   * Returns false when the loop gave up.
   */
  const waitOutInfrastructure = async (reason: string): Promise<boolean> => {
    const block: InfraBlock = { since: new Date().toISOString(), reason, restoredAt: null, restoredBy: null, rechecks: 0 };
    current().infra = block;
    // Only messages from now on are about this block.
    infraRestoredNote = null;
    retestAsked = null;
    setPhase('blocked-infra', reason);
    await notify('infra-team', `${status.name}: staging infrastructure is down. ${reason}`);
    const giveUpAt = Date.now() + durationMs(config.infra.giveUpAfter);
    let nextRecheck = Date.now() + durationMs(config.infra.recheckEvery);
    let nextReminder = Date.now() + durationMs(config.handoff.remindEvery);
    for (;;) {
      if (Date.now() >= giveUpAt) return false;
      // One durable timer for whichever comes first; a retest also ends the wait (someone knows staging is back).
      const wake = Math.max(1, Math.min(giveUpAt, nextRecheck, nextReminder) - Date.now());
      if (await condition(() => infraRestoredNote !== null || retestAsked !== null, wake)) {
        block.restoredBy = 'signal';
        break;
      }
      if (Date.now() >= nextReminder) {
        await notify('infra-team', `${status.name} is still blocked on infrastructure: ${reason}`, true);
        nextReminder += durationMs(config.handoff.remindEvery);
      }
      if (Date.now() < nextRecheck) continue;
      nextRecheck = Date.now() + durationMs(config.infra.recheckEvery);
      if (!config.verify.url) continue;
      block.rechecks++;
      const health = await checkHealth(true);
      if (health.healthy) {
        block.restoredBy = 'recheck';
        break;
      }
    }
    block.restoredAt = new Date().toISOString();
    return true;
  };

  /**
   * deploying + verifying the pending fix; a rollback and an infrastructure block in between when
   * staging does not come up.
   */
  const shipPendingFix = async (): Promise<'verified' | 'back-to-fix' | 'gave-up'> => {
    // Done with this fix; a newer one that arrived meanwhile stays pending.
    const settle = (fix: FixRecord) => {
      if (status.pendingFix === fix) status.pendingFix = null;
    };
    for (;;) {
      const fix = status.pendingFix!;
      const cycle = current();
      cycle.fix = fix;
      setPhase('deploying');
      let previousRevision: string | null = null;
      // What is known of a deploy that did not report back: nothing but its error, if any.
      const bare = (error: string | null): DeployRecord => ({
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
      } else {
        try {
          const d = await acts.deploy.deploy({ deploy: config.deploy, commit: fix.commit, cycle: cycle.cycle });
          cycle.deploy = { ...d, error: null };
          previousRevision = d.previousRevision;
        } catch (err) {
          if (isCancellation(err)) throw err;
          const type = failureType(err);
          const message = failureMessage(err);
          cycle.deploy = bare(message);
          if (type === FailureType.DeployRejected || type === FailureType.BadInput) {
            // Configuration or permissions: no retry and no fix can help; say what to change.
            await finish('gave-up', `deploy rejected: ${message}`);
            throw ApplicationFailure.create({ type: FailureType.DeployRejected, message, nonRetryable: true });
          }
          if (type === FailureType.DeployFailed && deployFailureLooksLikeInfrastructure(message)) {
            // The seed's case: the revision could not start its database. Not the fix's fault.
            if (!(await waitOutInfrastructure(`deploy of ${fix.commit} failed on infrastructure: ${message}`))) return 'gave-up';
            continue;
          }
          if (type === FailureType.DeployFailed) {
            settle(fix);
            cycle.outcome = `deploy of ${fix.commit} failed: ${message}`;
            return 'back-to-fix';
          }
          // Transient errors outlasted their retries: the platform is down.
          if (!(await waitOutInfrastructure(`deploy of ${fix.commit} could not reach the platform: ${message}`))) return 'gave-up';
          continue;
        }
      }
      if (!config.verify.url) {
        settle(fix);
        return 'verified';
      }
      setPhase('verifying');
      const verify = await checkHealth();
      cycle.verify = verify;
      if (verify.healthy) {
        settle(fix);
        return 'verified';
      }
      if (previousRevision && cycle.deploy?.revision !== previousRevision) {
        const rb = await acts.rollback.rollback({ deploy: config.deploy, toRevision: previousRevision });
        const after = await checkHealth(true);
        cycle.rollback = { revision: rb.revision, from: rb.from, healthyAfter: after.healthy };
      }
      const evidence = verify.evidence[verify.evidence.length - 1] ?? 'no answer';
      if (nextAfterFailedVerify(verify, cycle.rollback) === 'awaiting-fix') {
        settle(fix);
        cycle.outcome = `${fix.commit} deployed but staging failed verification: ${evidence}`;
        return 'back-to-fix';
      }
      const rolledBack = cycle.rollback ? ` Rolled back to ${cycle.rollback.revision}.` : '';
      if (!(await waitOutInfrastructure(`staging unhealthy after deploying ${fix.commit}: ${evidence}.${rolledBack}`))) return 'gave-up';
      // Infrastructure is back: the fix is still pending, deploy it again.
    }
  };

  /** awaiting-fix: hand the failures over, then wait (reminding) for a fix or a retest. */
  const awaitFix = async (why: string): Promise<'fix' | 'retest'> => {
    setPhase('awaiting-fix', why);
    await notify('fix-team', `${status.name} cycle ${status.cycle}: ${why}`);
    const reminder = durationMs(config.handoff.remindEvery);
    while (!(await condition(() => status.pendingFix !== null || retestAsked !== null, reminder))) {
      await notify('fix-team', `${status.name} is still waiting for a fix`, true);
    }
    return status.pendingFix ? 'fix' : 'retest';
  };

  const runLoop = async (): Promise<LoopResult> => {
    for (let first = true; ; first = false) {
      if (!first && workflowInfo().continueAsNewSuggested) {
        await condition(allHandlersFinished);
        return continueAsNew<typeof testDeployLoop>(input, status);
      }
      const cycle = startCycle(status, new Date());
      retestAsked = null;
      setPhase('testing');
      const run = await acts.suite.runSuite({
        suite: config.suite,
        deploy: config.deploy,
        handoff: config.handoff,
        cycle: cycle.cycle,
        secretEnv: secretEnvOf(config.probes, config.handoff.webhookUrlEnv),
      });
      cycle.outputPath = run.outputPath;
      setPhase('diagnosing');
      const d = await acts.quick.diagnose({
        loopName: status.name,
        cycle: cycle.cycle,
        command: config.suite.command ?? `the worker's suite "${config.suite.use}"`,
        startedAt: cycle.startedAt,
        junitPaths: run.junitPaths,
        suiteDurationMs: run.durationMs,
        probes: config.probes,
      });
      Object.assign(cycle, { tests: d.tests, verdict: d.verdict, rootCauses: d.rootCauses, reportPath: d.reportPath });
      status.lastRun = d.tests;
      status.rootCauses = d.rootCauses;

      switch (nextAfterDiagnosis(d.verdict, cycle.cycle, config.maxCycles)) {
        case 'passed':
          return finish('passed', `all ${d.tests.total} tests passed in cycle ${cycle.cycle}`);
        case 'gave-up':
          return finish('gave-up', `still failing after ${config.maxCycles} cycles: ${describeRootCauses(d.rootCauses)}`);
        case 'retest':
          cycle.outcome = 'only flaky failures: running again';
          continue;
        case 'blocked-infra':
          if (!(await waitOutInfrastructure(`the suite failed on infrastructure: ${describeRootCauses(d.rootCauses)}`))) {
            return finish('gave-up', `infrastructure not restored within ${config.infra.giveUpAfter}`);
          }
          cycle.outcome = 'infrastructure restored: running again';
          continue;
        case 'awaiting-fix':
          break;
      }
      // The suite's failures first; after a fix that did not hold, what went wrong with it.
      for (let why = describeRootCauses(d.rootCauses); ; why = cycle.outcome ?? why) {
        if ((await awaitFix(why)) === 'retest') {
          cycle.outcome = `retest: ${retestAsked}`;
          break;
        }
        const shipped = await shipPendingFix();
        if (shipped === 'gave-up') return finish('gave-up', `infrastructure not restored within ${config.infra.giveUpAfter}`);
        if (shipped === 'verified') {
          cycle.outcome = `fix ${cycle.fix?.commit} deployed and verified: running the suite again`;
          break;
        }
      }
    }
  };

  try {
    return await runLoop();
  } catch (err) {
    if (isCancellation(err)) {
      // Cancelled: the running step has been stopped; record it and leave a report behind.
      await CancellationScope.nonCancellable(() => finish('cancelled', 'the loop was cancelled'));
      throw err;
    }
    const type = failureType(err);
    if (type && NON_RETRYABLE_TYPES.includes(type as FailureType) && !FINAL_PHASES.includes(status.phase)) {
      // A step that can never succeed (no such command, no JUnit report): end with its own message.
      const message = failureMessage(err);
      await finish('gave-up', message);
      throw ApplicationFailure.create({ type, message, nonRetryable: true });
    }
    throw err;
  }
}
