/**
 * The proof for many workers on many hosts: two `tdl worker` processes on one task queue, each with
 * its own reports folder and work folder (nothing shared but Temporal), and each "host" vanishing in
 * turn (the worker and every process it started, SIGKILL) at a phase of a cycle: while the suite
 * runs, right after the suite (before or as its diagnosis starts), during the diagnosis, while
 * waiting for a fix, and during the deploy; a second loop loses its hosts while its health check is
 * in flight (verifying) and while it is blocked on infrastructure. Every loop must end right, every
 * report must be readable at its URL, and no worker loss may deploy a fix again.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { fetchArtifact } from '../src/artifacts';
import * as messages from '../src/workflows/messages';
import type { LoopResult } from '../src/workflows/loop';
import { deployCommand, deploys, E2E_SUITE, stagingDir } from './support/loop-input';
import { eventually, spawnWorker, tempDir, testEnv } from './support/temporal';

/** One "host": its own reports and work folders, and the worker process currently running there. */
interface Host {
  name: string;
  reportsDir: string;
  workDir: string;
  worker: ChildProcess;
}

/** Every process under `pid` (the suite, deploy and their children), found before anything dies. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${name}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone meanwhile
    }
  }
  const all: number[] = [];
  for (let todo = [pid]; todo.length; ) {
    const next = children.get(todo.pop()!) ?? [];
    all.push(...next);
    todo.push(...next);
  }
  return all;
}

/** Pids (one a line) that a suite or deploy wrote with `echo $PPID`: the worker that ran it. */
const pidsIn = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).map(Number) : []);

/**
 * A health-probe or verify target that answers after 1.5 s (so a diagnosis lasts long enough for its
 * host to be killed right after the suite), or hangs its next request when told to (the probe times
 * out at 5 s), with the status it is given.
 */
async function startProbeTarget() {
  let hangNext = false;
  let hung = 0;
  let status = 200;
  const server: Server = createServer((_req, res) => {
    if (hangNext) {
      hangNext = false;
      hung++;
      setTimeout(() => res.writeHead(200).end('late'), 8000).unref();
      return;
    }
    setTimeout(() => res.writeHead(status).end(status === 200 ? 'ok' : 'database unavailable'), 1500).unref();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`,
    hangNext: () => (hangNext = true),
    hung: () => hung,
    setStatus: (s: number) => (status = s),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('workers on several hosts, each killed in turn', function () {
  let env: TestWorkflowEnvironment;

  before(async function () {
    env = await testEnv();
  });

  it('every loop ends right, no report is lost, no commit is deployed twice', async function () {
    this.timeout(300_000);
    const taskQueue = `tdl-hosts-${randomUUID()}`;
    const hosts: Host[] = ['a', 'b'].map((name) => {
      const host = { name, reportsDir: tempDir(`tdl-reports-${name}-`), workDir: tempDir(`tdl-work-${name}-`) } as Host;
      host.worker = spawnWorker(env, taskQueue, host.reportsDir, { TDL_WORK_DIR: host.workDir });
      return host;
    });
    const staging = stagingDir();
    const suiteWorkers = `${staging}/suite-workers`;
    const deployWorkers = `${staging}/deploy-workers`;
    const probe = await startProbeTarget();
    // The second loop's staging: its health URL, checked after its deploy.
    const infraStaging = stagingDir();
    const health = await startProbeTarget();
    const kills: string[] = [];

    /** The host vanishes: its worker and everything it runs die at once; it comes back as a new worker process. */
    const killHost = async (pid: number, phase: string) => {
      const host = hosts.find((h) => h.worker.pid === pid);
      assert.ok(host, `pid ${pid} is one of the workers (${hosts.map((h) => h.worker.pid)})`);
      const exited = new Promise((r) => host.worker.once('exit', r));
      for (const p of [pid, ...descendants(pid)]) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await exited;
      kills.push(`${phase}: host ${host.name}`);
      host.worker = spawnWorker(env, taskQueue, host.reportsDir, { TDL_WORK_DIR: host.workDir });
    };
    const nthSuite = (n: number) => eventually(async () => pidsIn(suiteWorkers)[n - 1], `suite run ${n}`, 90_000);
    /** The started and completed events of an activity (a started event records its last attempt). */
    const eventsOf = async (handle: WorkflowHandle, activity: string) => {
      const events = (await handle.fetchHistory()).events ?? [];
      const names = new Map(events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => [String(e.eventId), e.activityTaskScheduledEventAttributes!.activityType!.name]));
      return events.filter((e) => names.get(String((e.activityTaskCompletedEventAttributes ?? e.activityTaskStartedEventAttributes)?.scheduledEventId)) === activity);
    };
    const completed = async (handle: WorkflowHandle, activity: string) => (await eventsOf(handle, activity)).filter((e) => e.activityTaskCompletedEventAttributes).length;

    try {
      const handle = await env.client.workflow.start(messages.WORKFLOW_TYPE, {
        taskQueue,
        workflowId: `hosts-${randomUUID()}`,
        args: [
          {
            name: 'netra-staging',
            suite: { command: `echo $PPID >> '${suiteWorkers}' && node ${E2E_SUITE}`, env: { STAGING_DIR: staging, SUITE_SLEEP_MS: '1000' }, timeout: '2m' },
            deploy: { kind: 'command', command: `echo $PPID >> '${deployWorkers}' && sleep 3 && ${deployCommand(staging)}`, timeout: '1m' },
            probes: { http: { url: probe.url } },
            maxCycles: 5,
          },
        ],
      });
      // It waits for its fix until the first loop waits for its own; recheckEvery: only infraRestored unblocks it.
      const infraLoop = await env.client.workflow.start(messages.WORKFLOW_TYPE, {
        taskQueue,
        workflowId: `hosts-infra-${randomUUID()}`,
        args: [
          {
            name: 'netra-staging-infra',
            suite: { command: `node ${E2E_SUITE}`, env: { STAGING_DIR: infraStaging }, timeout: '2m' },
            deploy: { kind: 'command', command: deployCommand(infraStaging), timeout: '1m' },
            verify: { url: health.url, timeout: '5s', interval: '1s' },
            infra: { recheckEvery: '1h' },
            maxCycles: 5,
          },
        ],
      });
      const phaseOf = (h: WorkflowHandle, phase: string, timeoutMs: number) =>
        eventually(
          async () => {
            const s = await h.query(messages.status);
            return s.phase === phase ? s : undefined;
          },
          `${h.workflowId}: ${phase}`,
          timeoutMs,
        );

      // testing: the suite's host dies mid-run; after the heartbeat timeout another host runs it.
      await killHost(await nthSuite(1), 'testing');

      // Right after the suite: its host dies as soon as the suite's completion is recorded, so the
      // diagnosis is scheduled on (or has just reached) a queue no one polls any more.
      const second = await nthSuite(2);
      await eventually(async () => ((await completed(handle, 'runSuite')) >= 1 ? true : undefined), 'the suite completed', 60_000);
      await killHost(second, 'between suite and diagnosis');

      // diagnosing: the next diagnosis hangs on its probe; its host dies in the middle of it.
      const third = await nthSuite(3);
      probe.hangNext();
      await eventually(async () => (probe.hung() === 1 ? true : undefined), 'the diagnosis probing', 60_000);
      await killHost(third, 'diagnosing');

      // awaiting-fix: both hosts die in turn while the loop waits, and while the second loop's first
      // health check after its deploy is in flight (verifying); when that check runs again, after its
      // heartbeat timeout, staging answers 503.
      const waiting = await phaseOf(handle, 'awaiting-fix', 90_000);
      assert.equal(waiting.cycle, 1, 'the lost hosts cost no cycle');
      await phaseOf(infraLoop, 'awaiting-fix', 30_000);
      health.hangNext();
      await infraLoop.signal(messages.fixCommitted, { commit: 'f1x-infra' });
      await eventually(async () => (health.hung() === 1 ? true : undefined), 'the verify in flight', 30_000);
      assert.equal((await infraLoop.query(messages.status)).phase, 'verifying');
      for (const host of [...hosts]) await killHost(host.worker.pid!, 'awaiting-fix and verifying');
      health.setStatus(503);

      // deploying: the deploy's host dies mid-deploy (before the command recorded anything).
      await handle.signal(messages.fixCommitted, { commit: 'f1x-hosts' });
      await killHost(await eventually(async () => pidsIn(deployWorkers)[0], 'the deploy', 30_000), 'deploying');

      const result = (await handle.result()) as LoopResult;
      assert.equal(result.phase, 'passed', result.reason ?? '');
      assert.equal(result.cycles, 2);
      assert.deepEqual(deploys(staging), ['f1x-hosts'], 'the fix was deployed exactly once');
      assert.equal(pidsIn(deployWorkers).length, 2, 'the killed deploy ran again on another host');
      assert.ok(pidsIn(suiteWorkers).length >= 5, `the suite ran again after each lost host (${pidsIn(suiteWorkers).length} runs)`);

      // Every report is readable at its URL, in whichever host's folder it was published.
      const status = await handle.query(messages.status);
      const urls = [result.reportPath!, ...status.cycles.flatMap((c) => [c.reportPath!, c.outputPath!, c.deploy?.logPath].filter(Boolean) as string[])];
      assert.equal(urls.length, 6, urls.join(' '));
      for (const url of urls) {
        // A quiet deploy command leaves an empty log; every other file has content.
        assert.ok((await fetchArtifact(url)).length > 0 || url.endsWith('/deploy.log'), `${url} has content`);
        assert.ok(hosts.some((h) => fileURLToPath(url).startsWith(h.reportsDir)), `${url} is in a host's reports folder`);
      }
      assert.match((await fetchArtifact(status.cycles[0].reportPath!)).toString(), /24/);
      assert.equal((await fetchArtifact(result.reportPath!)).toString(), await handle.query(messages.report));

      // Each cycle's diagnosis ran on the queue of the worker that ran its suite, never on the shared queue.
      const diagnoses = ((await handle.fetchHistory()).events ?? [])
        .map((e) => e.activityTaskScheduledEventAttributes)
        .filter((a) => a?.activityType?.name === 'diagnose');
      assert.ok(diagnoses.length >= 4, `${diagnoses.length} diagnoses scheduled`);
      for (const d of diagnoses) assert.ok(d!.taskQueue!.name!.startsWith(`${taskQueue}@`), d!.taskQueue!.name!);

      // blocked-infra: the retried health check found staging down; both hosts die while the loop
      // waits, then infrastructure is back and the pending fix ships again, as blocked-infra does.
      const blocked = await phaseOf(infraLoop, 'blocked-infra', 120_000);
      assert.equal(blocked.cycles[0].verify?.lastStatus, 503);
      for (const host of [...hosts]) await killHost(host.worker.pid!, 'blocked-infra');
      health.setStatus(200);
      await infraLoop.signal(messages.infraRestored, { note: 'database back' });
      const infraResult = (await infraLoop.result()) as LoopResult;
      assert.equal(infraResult.phase, 'passed', infraResult.reason ?? '');
      assert.deepEqual(deploys(infraStaging), ['f1x-infra', 'f1x-infra'], 'deployed before the block and once after infraRestored: no extra deploy for a lost host');
      const verifyAttempts = (await eventsOf(infraLoop, 'verify')).map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 0);
      assert.ok(verifyAttempts.some((a) => a > 1), `the verify whose host died ran again (attempts ${verifyAttempts})`);
      const infraStatus = await infraLoop.query(messages.status);
      for (const url of [infraResult.reportPath!, ...infraStatus.cycles.flatMap((c) => [c.reportPath!, c.outputPath!].filter(Boolean))]) {
        assert.ok((await fetchArtifact(url)).length > 0, `${url} has content`);
      }
      assert.equal(kills.length, 8, kills.join('; '));
    } finally {
      for (const host of hosts) host.worker.kill('SIGTERM');
      await Promise.all(hosts.map((h) => new Promise((r) => (h.worker.exitCode !== null ? r(null) : h.worker.once('exit', r)))));
      await probe.close();
      await health.close();
    }
  });
});
