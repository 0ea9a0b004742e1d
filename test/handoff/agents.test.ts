/**
 * The fix team as coding agents, on a real Temporal dev server: the agent adapter example runs a
 * deterministic scripted agent (no model calls) in a git worktree of a real repository, which
 * commits and reports through `tdl fix` / `tdl cannot-fix`; deploys take the commit from that
 * repository. One agent fixes one root cause per cycle, one gives up, one makes things worse, one hangs.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { HandoffDocument } from '../../src/handoff/schema';
import * as messages from '../../src/workflows/messages';
import type { LoopResult } from '../../src/workflows/loop';
import type { LoopStatus } from '../../src/workflows/state';
import { BROKEN_APP, type App } from '../../examples/agent-adapter/scripted-suite';
import { deploys } from '../support/loop-input';
import { eventually, TDL, tempDir, workerPerTest } from '../support/temporal';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook';

const run = promisify(execFile);
const EXAMPLE = resolve(__dirname, '..', '..', 'examples', 'agent-adapter');

const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'user.name=Dana', '-c', 'user.email=dana@localhost', ...args], { cwd, encoding: 'utf8' }).trim();

/** A git repository holding the scripted app, and a staging folder its deploys write to. */
function shop() {
  const repo = tempDir('tdl-shop-repo-');
  const staging = tempDir('tdl-shop-staging-');
  git(repo, 'init', '-q');
  writeFileSync(join(repo, 'app.json'), JSON.stringify(BROKEN_APP, null, 2) + '\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'the app as it fails');
  writeFileSync(join(staging, 'app.json'), JSON.stringify(BROKEN_APP));
  writeFileSync(join(staging, 'deploys.log'), '');
  /** A person's commit on the main line: the app with `app` changes. */
  const commitByHand = (app: Partial<App>) => {
    writeFileSync(join(repo, 'app.json'), JSON.stringify({ ...BROKEN_APP, ...app }, null, 2) + '\n');
    git(repo, 'commit', '-q', '-am', 'fix by hand');
    return git(repo, 'rev-parse', '--short=12', 'HEAD');
  };
  return { repo, staging, commitByHand };
}

describe('the fix team as coding agents (scripted), on a real Temporal server', function () {
  const { start, env, current } = workerPerTest();
  let webhook: WebhookReceiver;
  beforeEach(async () => (webhook = await startWebhookReceiver()));
  afterEach(() => webhook.close());

  function loopFor(s: ReturnType<typeof shop>, agent: string, handoff: Record<string, unknown> = {}) {
    const vars = {
      TDL_AGENT_REPO: s.repo,
      TDL_AGENT_NAME: `scripted-${agent}`,
      SCRIPTED_AGENT: agent,
      TDL_AGENT_CMD: `node ${join(EXAMPLE, 'scripted-agent.js')}`,
      TDL_BIN: `node ${TDL}`,
      TEMPORAL_ADDRESS: env().address,
      TEMPORAL_NAMESPACE: 'default',
      TDL_TASK_QUEUE: current().taskQueue,
    };
    const prefix = Object.entries(vars).map(([k, v]) => `${k}='${v}'`).join(' ');
    return {
      name: 'shop',
      suite: { command: `node ${join(EXAMPLE, 'scripted-suite.js')}`, env: { STAGING_DIR: s.staging }, timeout: '1m' },
      deploy: { kind: 'command', command: `git -C '${s.repo}' show "$COMMIT:app.json" > '${s.staging}/app.json' && echo "$COMMIT" >> '${s.staging}/deploys.log'`, timeout: '30s' },
      handoff: { command: `${prefix} node ${join(EXAMPLE, 'adapter.js')}`, webhookUrl: webhook.url, timeout: '1m', ...handoff },
      maxCycles: 5,
    };
  }

  const waitingFor = (handle: WorkflowHandle, who: LoopStatus['waitingFor']) =>
    eventually(async () => {
      const s = await handle.query(messages.status);
      return s.waitingFor === who ? s : undefined;
    }, `waiting for ${who}`, 60_000);

  it('an agent that fixes one root cause per cycle: each fix says what it addresses, the diff shows it fixed, the loop passes', async function () {
    const s = shop();
    const handle = await start(loopFor(s, 'fix-one'));
    const result: LoopResult = await handle.result();
    assert.equal(result.phase, 'passed');
    assert.equal(result.cycles, 3, 'two root causes, one per cycle, then green');
    const status = await handle.query(messages.status);
    const [c1, c2, c3] = status.cycles;
    assert.equal(deploys(s.staging).length, 2);
    for (const c of [c1, c2]) {
      assert.equal(c.fix!.agent, 'scripted-fix-one');
      assert.match(c.fix!.branch!, /^tdl\/shop-cycle-\d-attempt-\d$/);
      assert.equal(c.fix!.addresses!.length, 1);
      assert.ok(c.rootCauses.some((r) => r.fingerprint === c.fix!.addresses![0]), 'it addressed a root cause of its cycle');
    }
    assert.deepEqual(c2.diff!.fixed.map((e) => [e.fingerprint, e.fix, e.claimed]), [[c1.fix!.addresses![0], c1.fix!.commit, true]]);
    assert.equal(c2.diff!.stillFailing.length, 1);
    assert.deepEqual(c3.diff!.fixed.map((e) => e.fingerprint), c2.fix!.addresses);
    assert.equal(git(s.repo, 'log', '-1', '--format=%an', c2.fix!.commit), 'scripted-fix-one', 'a real commit in the repository, on top of the first fix');
    const file = JSON.parse(readFileSync(join(fileURLToPath(c1.reportPath!), '..', 'handoff.json'), 'utf8')) as HandoffDocument;
    assert.equal(file.reproduce.mustPass.length, 8, 'the file lists every failing test');
    const report = await handle.query(messages.report);
    assert.match(report, new RegExp(`\\*\\*Fix\\*\\*: \`${c1.fix!.commit}\` fix \\w+ \\(agent scripted-fix-one\\)`));
    assert.match(report, /\| fixed \| `[0-9a-f]{16}` \w+ \| 4 → 0 \| `\w+` \(claimed it\) \|/);
    assert.ok(webhook.received.every((p) => (p.handoff as HandoffDocument).schemaVersion === 1), 'the webhook gets the document beside the text');
    assert.match(String(webhook.received[1].text), new RegExp(`^shop cycle 2: after ${c1.fix!.commit} by agent scripted-fix-one: 1 fixed, 1 still failing\\. `));
  });

  it('an agent that gives up: cannotFix escalates to a person (waitingFor people), who fixes it; bad fixes are refused with a reason', async function () {
    const s = shop();
    const handle = await start(loopFor(s, 'give-up'));
    const escalated = await waitingFor(handle, 'people');
    assert.equal(escalated.phase, 'awaiting-fix');
    const e = escalated.cycles[0].escalation!;
    assert.deepEqual([e.kind, e.by], ['cannot-fix', 'scripted-give-up']);
    assert.match(e.reason, /scripted-give-up exited with 3: cannot fix [0-9a-f]{16}/);
    const asked = await eventually(async () => webhook.received.find((p) => p.needsPerson === true), 'the needs-a-person webhook');
    assert.match(asked.text as string, /shop needs a person: the fix team cannot fix it/);
    const doc = await handle.query(messages.handoff);
    assert.equal(doc.loop.waitingFor, 'people');
    // Asynchronously: the worker answering the query runs in this process.
    const cli = async (...args: string[]) =>
      (await run(process.execPath, [TDL, ...args], { encoding: 'utf8', env: { ...process.env, TEMPORAL_ADDRESS: env().address, TEMPORAL_NAMESPACE: 'default' } })).stdout;
    assert.deepEqual(JSON.parse(await cli('handoff', handle.workflowId, '--json')), doc);
    const text = await cli('handoff', handle.workflowId);
    assert.match(text, /shop \(.+\): hand-off v1, cycle 1 of 5 \(4 left\), fix attempt 1/);
    assert.match(text, /needs a person \(cannot-fix\)/);
    for (const r of doc.rootCauses) assert.match(text, new RegExp(`${r.fingerprint} +4 × ${r.category}`));
    assert.match(await cli('status', handle.workflowId), /waiting for people/);
    assert.equal(doc.escalation!.kind, 'cannot-fix');

    await assert.rejects(
      handle.executeUpdate(messages.submitFix, { args: [{ commit: 'abc123', addresses: ['0123456789abcdef'] }] }),
      (err: unknown) => err instanceof WorkflowUpdateFailedError && /addresses: 0123456789abcdef is not a root cause this loop has diagnosed/.test(err.cause?.message ?? ''),
    );
    const commit = s.commitByHand({ subprotocol: true, cartTotal: true });
    const fps = doc.rootCauses.map((r) => r.fingerprint);
    assert.deepEqual(await handle.executeUpdate(messages.submitFix, { args: [{ commit, addresses: fps, author: 'Dana', prUrl: 'https://git.example/shop/pull/7' }] }), { accepted: true, cycle: 1 });
    const result: LoopResult = await handle.result();
    assert.equal(result.phase, 'passed');
    const final = await handle.query(messages.status);
    assert.deepEqual([final.cycles[0].fix!.agent, final.cycles[0].fix!.author, final.cycles[0].fix!.prUrl], [null, 'Dana', 'https://git.example/shop/pull/7']);
    assert.equal(final.handoff!.escalation, null, 'a fix ends the escalation');
  });

  it('an agent that makes things worse: the regression is reported with its commit, and a cause past maxAttemptsPerCause goes to people', async function () {
    const s = shop();
    const handle = await start(loopFor(s, 'worse', { maxAttemptsPerCause: 1 }));
    const escalated = await waitingFor(handle, 'people');
    assert.equal(escalated.cycle, 2);
    const [c1, c2] = escalated.cycles;
    const bad = c1.fix!.commit;
    assert.deepEqual(c2.diff!.regressed.map((e) => e.fix), [bad], 'one root cause the fix made');
    const regressed = c2.rootCauses.find((r) => r.fingerprint === c2.diff!.regressed[0].fingerprint)!;
    assert.match(regressed.summary, /Cannot read properties/, 'checkout, broken by the fix');
    assert.deepEqual(c2.diff!.stillFailing.filter((x) => x.claimed).map((x) => x.fingerprint), c1.fix!.addresses);
    assert.deepEqual([c2.escalation!.kind, c2.escalation!.fingerprints], ['max-attempts', c1.fix!.addresses]);
    assert.equal(deploys(s.staging).length, 1, 'no second agent run: people instead');
    assert.match(escalated.reason!, /needs a person: still failing after 1 verified fix that claimed it/);
    const report = await handle.query(messages.report);
    assert.match(report, new RegExp(`\\| regressed \\| \`[0-9a-f]{16}\` \\w+ \\| 0 → 4 \\| after \`${bad}\` \\|`));
    await assert.rejects(
      handle.executeUpdate(messages.submitFix, { args: [{ commit: bad }] }),
      (err: unknown) => err instanceof WorkflowUpdateFailedError && new RegExp(`commit: ${bad} was already deployed in this loop`).test(err.cause?.message ?? ''),
    );
    await handle.cancel();
  });

  it('an agent that hangs: the hand-off command is stopped at handoff.timeout, retried, then escalated, never dropped', async function () {
    const s = shop();
    const handle = await start(loopFor(s, 'hang', { timeout: '2s' }));
    const escalated = await waitingFor(handle, 'people');
    assert.equal(escalated.cycles[0].escalation!.kind, 'handoff-failed');
    // The status says so first; the webhook follows.
    const asked = await eventually(async () => webhook.received.find((p) => p.needsPerson === true), 'the needs-a-person webhook');
    assert.match(asked.text as string, /needs a person: the hand-off could not be delivered/);
    assert.deepEqual(deploys(s.staging), []);
    await handle.cancel();
  });
});
