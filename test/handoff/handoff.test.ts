/** The hand-off contract without Temporal: fingerprints, the diff, the guards, the document and its schema. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { digest } from '../../src/activities/diagnose-thread';
import { parseLoopConfig } from '../../src/config';
import { buildHandoff } from '../../src/handoff/document';
import { handoffJsonSchema, type HandoffDocument } from '../../src/handoff/schema';
import { HANDOFF_SCHEMA_VERSION } from '../../src/handoff/types';
import { completeHandoff, forWebhook, WEBHOOK_TESTS, writeHandoffFile } from '../../src/handoff/file';
import { notify } from '../../src/notify';
import { describeDiff, diffCycles } from '../../src/handoff/diff';
import { fixRefusal, rememberCycle } from '../../src/handoff/guards';
import { emptyMemory, HANDOFF_LIMITS } from '../../src/handoff/types';
import { cannotFixProblem, fingerprintsProblem, fixProblem } from '../../src/workflows/messages';
import { renderLoopReport } from '../../src/workflows/report';
import { boundStatus, initialStatus, newCycle, type CycleRecord, type FixRecord, type RootCause } from '../../src/workflows/state';
import { BROKEN_APP, type App } from '../../examples/agent-adapter/scripted-suite';
import { tempDir } from '../support/temporal';

const SUITE = resolve(__dirname, '..', '..', 'examples', 'agent-adapter', 'scripted-suite.js');

/** The scripted suite run for real against `app`, then the diagnose activity's own digest. */
async function diagnoseApp(app: App, cycle = 1) {
  const dir = tempDir('tdl-handoff-');
  writeFileSync(join(dir, 'app.json'), JSON.stringify(app));
  const junit = join(dir, 'junit.xml');
  try {
    execFileSync(process.execPath, [SUITE], { env: { ...process.env, STAGING_DIR: dir, JUNIT_XML: junit } });
  } catch {
    // It exits 1 when tests fail, as suites do.
  }
  const out = join(dir, `cycle-${cycle}`);
  mkdirSync(out);
  return digest({ loopName: 'shop', cycle, command: 'pytest', startedAt: new Date().toISOString(), junitPaths: [junit], suiteDurationMs: 1, probes: undefined, dir: out, secretEnv: [] });
}

const cause = (fingerprint: string, count = 4, category: RootCause['category'] = 'assertion'): RootCause => ({ category, count, summary: `s ${fingerprint}`, hypothesis: 'h', fingerprint, tests: [`t::${fingerprint}`] });
const fix = (commit: string, addresses: string[] = []): FixRecord => ({ commit, summary: null, author: null, receivedAt: 'now', via: 'update', addresses, agent: 'bot' });
const FP = { a: 'aaaaaaaaaaaaaaaa', b: 'bbbbbbbbbbbbbbbb', c: 'cccccccccccccccc' };

/** A cycle with root causes, and optionally a fix deployed (healthy) in it. */
function cycleWith(n: number, causes: RootCause[], deployed?: FixRecord, healthy = true): CycleRecord {
  const c = newCycle(n, new Date(0));
  c.rootCauses = causes;
  c.verdict = causes.length ? 'code' : 'passed';
  if (deployed) {
    c.fix = deployed;
    c.deploy = { commit: deployed.commit, kind: 'command', revision: null, previousRevision: null, alreadyServing: false, durationMs: 1, logPath: null, error: null };
    c.verify = { healthy, attempts: 1, lastStatus: healthy ? 200 : 500, durationMs: 1, evidence: [] };
  }
  return c;
}

describe('hand-off: fingerprints', function () {
  it('are the same for the same root cause across cycles and loops, and differ between causes', async function () {
    const first = await diagnoseApp(BROKEN_APP);
    const later = await diagnoseApp({ ...BROKEN_APP, subprotocol: true }, 2);
    const otherLoop = await diagnoseApp(BROKEN_APP);
    const fps = first.rootCauses.map((r) => r.fingerprint!);
    assert.equal(fps.length, 2);
    assert.ok(fps.every((f) => /^[0-9a-f]{16}$/.test(f)));
    assert.notEqual(fps[0], fps[1]);
    const cart = first.rootCauses.find((r) => r.summary.includes('cart total'))!;
    assert.deepEqual(later.rootCauses.map((r) => r.fingerprint), [cart.fingerprint], 'the cause left over keeps its fingerprint');
    assert.deepEqual(otherLoop.rootCauses.map((r) => r.fingerprint), fps, 'another loop diagnosing the same failures');
    assert.equal(cart.tests!.length, HANDOFF_LIMITS.sampleTests, 'history keeps a sample of the test ids');
  });
});

describe('hand-off: the cycle-over-cycle diff', function () {
  it('sorts root causes into fixed, still failing, new and regressed, with the fix meant for each', function () {
    const prev = cycleWith(1, [cause(FP.a), cause(FP.b)], fix('f1x', [FP.a, FP.b]));
    const d = diffCycles(prev, [cause(FP.b, 2), cause(FP.c)], [FP.a, FP.b]);
    assert.deepEqual(d.fixed.map((e) => [e.fingerprint, e.before, e.count, e.fix, e.claimed]), [[FP.a, 4, 0, 'f1x', true]]);
    assert.deepEqual(d.stillFailing.map((e) => [e.fingerprint, e.before, e.count, e.claimed]), [[FP.b, 4, 2, true]]);
    assert.deepEqual(d.regressed.map((e) => [e.fingerprint, e.fix, e.claimed]), [[FP.c, 'f1x', false]], 'new failures after a deploy: the fix made things worse');
    assert.deepEqual(d.new, []);
    assert.equal(describeDiff(d), '1 fixed, 1 still failing, 1 regressed after f1x');
  });

  it('calls a failure new without a deploy in between, and regressed when it comes back', function () {
    const retested = cycleWith(1, [cause(FP.a)]);
    assert.deepEqual(diffCycles(retested, [cause(FP.a), cause(FP.b)], [FP.a]).new.map((e) => e.fingerprint), [FP.b]);
    assert.deepEqual(diffCycles(retested, [cause(FP.c)], [FP.a, FP.c]).regressed.map((e) => e.fingerprint), [FP.c], 'seen before: it came back');
    const unhealthy = cycleWith(1, [cause(FP.a)], fix('bad', [FP.a]), false);
    assert.deepEqual(diffCycles(unhealthy, [cause(FP.a), cause(FP.b)], [FP.a]).new.map((e) => e.fingerprint), [FP.b], 'an unverified deploy is not blamed');
    const first = diffCycles(null, [cause(FP.a)], []);
    assert.deepEqual([first.since, first.new.map((e) => e.fingerprint), first.fixed, first.regressed], [null, [FP.a], [], []], 'the first cycle: all new');
  });
});

describe('hand-off: guards', function () {
  it('counts verified fixes that claimed a cause still failing, and sends it to people at the limit', function () {
    const m = emptyMemory();
    const c1 = cycleWith(1, [cause(FP.a), cause(FP.b)], fix('one', [FP.a]));
    assert.deepEqual(rememberCycle(m, null, diffCycles(null, c1.rootCauses, m.seen), 2), []);
    assert.deepEqual(m.seen, [FP.a, FP.b]);
    const c2 = cycleWith(2, [cause(FP.a), cause(FP.b)], fix('two', [FP.a]));
    assert.deepEqual(rememberCycle(m, c1, diffCycles(c1, c2.rootCauses, m.seen), 2), [], 'one attempt');
    assert.deepEqual(m.attempts, { [FP.a]: 1 }, 'the cause nobody claimed is not counted');
    assert.deepEqual(m.deployed, ['one']);
    assert.deepEqual(rememberCycle(m, c2, diffCycles(c2, [cause(FP.a)], m.seen), 2), [FP.a], 'the second verified fix that claimed it');
    assert.deepEqual(m.deployed, ['one', 'two']);
  });

  it('refuses a commit deployed in this loop and fingerprints it never diagnosed, saying what to do', function () {
    const m = { ...emptyMemory(), seen: [FP.a], deployed: ['old'] };
    const cycles = [cycleWith(3, [cause(FP.a)], fix('recent'))];
    assert.match(fixRefusal(m, cycles, { commit: 'old' })!, /^commit: old was already deployed in this loop; commit the change/);
    assert.match(fixRefusal(m, cycles, { commit: 'recent' })!, /already deployed in this loop \(cycle 3\)/);
    assert.match(fixRefusal(m, cycles, { commit: 'new', addresses: [FP.a, FP.b] })!, /^addresses: bbbbbbbbbbbbbbbb is not a root cause this loop has diagnosed; use fingerprints from `tdl handoff` \(known: aaaaaaaaaaaaaaaa\)/);
    assert.equal(fixRefusal(m, cycles, { commit: 'new', addresses: [FP.a] }), null);
  });

  it('checks the shape of fingerprints and cannotFix before anything is sent', function () {
    assert.match(fingerprintsProblem('addresses', ['xyz'])!, /addresses: "xyz" is not a fingerprint/);
    assert.match(fingerprintsProblem('addresses', 'aaaaaaaaaaaaaaaa')!, /must be a list/);
    assert.match(fixProblem({ commit: 'abc', prUrl: 'x'.repeat(501) })!, /^prUrl: 501 characters, at most 500/);
    assert.equal(fixProblem({ commit: 'abc', addresses: [FP.a], branch: 'b', agent: 'bot' }), null);
    assert.match(cannotFixProblem({ reason: ' ' })!, /^reason: say why/);
    assert.match(cannotFixProblem({ reason: 'no', fingerprints: [1] })!, /^fingerprints: "1" is not a fingerprint/);
    assert.equal(cannotFixProblem({ reason: 'vendored SDK', fingerprints: [FP.a] }), null);
  });

  it('reads maxAttemptsPerCause, agentTimeout and timeout from the input, bounded, naming the field', function () {
    const config = parseLoopConfig({ suite: { command: 'x' }, handoff: { maxAttemptsPerCause: 3, agentTimeout: '2h', timeout: '30m' } });
    assert.deepEqual([config.handoff.maxAttemptsPerCause, config.handoff.agentTimeout, config.handoff.timeout], [3, '2h', '30m']);
    assert.throws(() => parseLoopConfig({ suite: { command: 'x' }, handoff: { maxAttemptsPerCause: 0 } }), /handoff\.maxAttemptsPerCause: must be a whole number from 1 to 100/);
    assert.throws(() => parseLoopConfig({ suite: { command: 'x' }, handoff: { agentTimeout: '10s' } }), /handoff\.agentTimeout: must be a duration from 1m/);
    assert.equal(parseLoopConfig({ suite: { command: 'x' }, handoff: { agentTimeout: null } }).handoff.agentTimeout, null);
  });
});

describe('hand-off: delivery', function () {
  it('gives the command the document on stdin and as $TDL_HANDOFF_FILE, redacted', async function () {
    const dir = tempDir('tdl-handoff-cmd-');
    const secret = 'hunter2-very-secret-value';
    process.env.TDL_TEST_API_TOKEN = secret;
    try {
      const doc = { ...buildHandoff(initialStatus('shop', 3, new Date(0)), parseLoopConfig({ suite: { command: `echo ${secret}` } }), 'shop-1') };
      const { document, path } = writeHandoffFile(doc, dir, [], null);
      const command = `cat > '${dir}/stdin.json'; printf %s "$TDL_HANDOFF_FILE" > '${dir}/env.txt'`;
      await notify({ webhookUrl: null, command }, { audience: 'fix-team', loop: 'shop', workflowId: 'shop-1', cycle: 1, phase: 'awaiting-fix', text: 'fix it', report: '', reportPath: null, handoff: document, handoffPath: path }, { signal: new AbortController().signal });
      assert.equal(readFileSync(join(dir, 'env.txt'), 'utf8'), path);
      const sent = JSON.parse(readFileSync(join(dir, 'stdin.json'), 'utf8')) as HandoffDocument;
      assert.deepEqual(sent, JSON.parse(readFileSync(path, 'utf8')));
      assert.equal(sent.links.handoffFile, path);
      assert.ok(!readFileSync(path, 'utf8').includes(secret), "the worker's secrets never reach the file");
    } finally {
      delete process.env.TDL_TEST_API_TOKEN;
    }
  });
});

describe('hand-off: the document', function () {
  it('is built from the bounded status, completed from the cycle files, and valid against the published schema', async function () {
    const d = await diagnoseApp(BROKEN_APP);
    const config = parseLoopConfig({ name: 'shop', suite: { command: 'pytest', rerunFailed: 'pytest $FAILED_TESTS' }, verify: { url: 'http://127.0.0.1:1/health' } });
    const s = initialStatus('shop', 10, new Date(0));
    const c1 = cycleWith(1, d.rootCauses, fix('c0ffee', [d.rootCauses[0].fingerprint!]));
    c1.reportPath = d.reportPath;
    const c2 = cycleWith(2, d.rootCauses);
    c2.reportPath = d.reportPath;
    c2.diff = diffCycles(c1, c2.rootCauses, d.rootCauses.map((r) => r.fingerprint!));
    Object.assign(s, { cycle: 2, cycles: [c1, c2], phase: 'awaiting-fix', waitingFor: 'fix', handoff: { ...emptyMemory(), attempts: { [d.rootCauses[0].fingerprint!]: 1 } } });
    boundStatus(s);
    const doc = buildHandoff(s, config, 'shop-1');
    assert.equal(doc.schemaVersion, HANDOFF_SCHEMA_VERSION);
    assert.deepEqual([doc.loop.cycle, doc.loop.cyclesLeft, doc.loop.attempt, doc.loop.maxAttemptsPerCause], [2, 8, 2, 2]);
    assert.deepEqual(doc.rootCauses.map((r) => [r.status, r.attempts]), [['still-failing', 1], ['still-failing', 0]]);
    assert.equal(doc.rootCauses[0].tests.length, 3, 'the query carries a sample');
    assert.equal(doc.reproduce.rerunCommand, 'pytest $FAILED_TESTS');
    assert.deepEqual(doc.fixes.map((f) => [f.commit, f.agent, f.addresses]), [['c0ffee', 'bot', [d.rootCauses[0].fingerprint]]]);
    assert.equal(doc.staging.healthy, true);
    assert.match(doc.respond.fix, /^tdl fix 'shop-1' --commit SHA --addresses [0-9a-f]{16},[0-9a-f]{16}/);

    const full = completeHandoff(doc, readFileSync(doc.links.diagnosis!, 'utf8'));
    assert.equal(full.rootCauses[0].tests.length, 4, 'the file has every test id');
    assert.ok(full.rootCauses[0].evidence!.length > 0);
    assert.equal(full.reproduce.mustPass.length, 8);

    const big = { ...full, rootCauses: full.rootCauses.map((r) => ({ ...r, tests: Array.from({ length: 120 }, (_, i) => `${r.fingerprint}::t${i}`) })) };
    const sent = forWebhook(big);
    assert.deepEqual(sent.rootCauses.map((r) => r.tests.length), big.rootCauses.map(() => WEBHOOK_TESTS), 'the webhook gets the first ids; the file has all');
    assert.equal(sent.reproduce.mustPass.length, WEBHOOK_TESTS * big.rootCauses.length);

    const validate = new Ajv2020({ strict: false }).compile(handoffJsonSchema());
    for (const document of [doc, full, sent, JSON.parse(JSON.stringify(buildHandoff(initialStatus('x', 3, new Date(0)), config, 'x')))]) {
      assert.ok(validate(document), JSON.stringify(validate.errors));
    }
    assert.ok(!validate({ ...doc, schemaVersion: 2 }), 'another version is refused');
  });

  it('says in the loop report who fixed what, the diff and an escalation', function () {
    const s = initialStatus('shop', 10, new Date(0));
    const c1 = cycleWith(1, [cause(FP.a), cause(FP.b)], { ...fix('f1x', [FP.a]), author: 'Dana', prUrl: 'https://git.example/pr/7', branch: 'tdl/fix' });
    const c2 = cycleWith(2, [cause(FP.b), cause(FP.c)]);
    c2.diff = diffCycles(c1, c2.rootCauses, [FP.a, FP.b]);
    c2.escalation = { kind: 'max-attempts', at: 'then', reason: 'still failing after 2 verified fixes', fingerprints: [FP.b], by: null };
    Object.assign(s, { cycle: 2, cycles: [c1, c2] });
    const report = renderLoopReport(s);
    assert.match(report, /\*\*Fix\*\*: `f1x` \(agent bot, for Dana\), by update at now, PR https:\/\/git.example\/pr\/7, branch `tdl\/fix`, addresses `a{16}`/);
    assert.match(report, /\| fixed \| `a{16}` assertion \| 4 → 0 \| `f1x` \(claimed it\) \|/);
    assert.match(report, /\| still failing \| `b{16}` assertion \| 4 → 4 \| `f1x` \|/);
    assert.match(report, /\| regressed \| `c{16}` assertion \| 0 → 4 \| after `f1x` \|/);
    assert.match(report, /\*\*Needs a person\*\* \(max-attempts\) since then: still failing after 2 verified fixes/);
  });
});
