/**
 * Payload encryption: AES-256-GCM with keys from the environment (rotation: encrypt with the newest,
 * decrypt with any), a loop whose history holds no clear text, failures' messages and stacks
 * included, and the Web UI's codec endpoint.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client, WorkflowFailedError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import { CodecConfigError, dataConverter, EncryptionCodec, parseEncryptionKeys, payloadCodecs } from '../src/codec';
import { startCodecServer } from '../src/codec/server';
import { createLoopWorker } from '../src/worker';
import * as messages from '../src/workflows/messages';
import { loopInput, stagingDir } from './support/loop-input';
import { eventually, phaseIs, TDL, tempDir, testEnv } from './support/temporal';

const key = () => randomBytes(32).toString('base64');
const toPayload = (v: unknown) => defaultPayloadConverter.toPayload(v);
const fromPayload = (p: Parameters<typeof defaultPayloadConverter.fromPayload>[0]) => defaultPayloadConverter.fromPayload(p);

/** A payload from history as the Web UI sends it: metadata values and data in base64. */
function asUiSendsIt(p: temporal.api.common.v1.IPayload) {
  return { metadata: Object.fromEntries(Object.entries(p.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])), data: Buffer.from(p.data!).toString('base64') };
}

function tdlStatus(address: string, id: string, keys: string): Promise<string> {
  return new Promise((done, fail) =>
    execFile(process.execPath, [TDL, 'status', id, '--json'], { env: { ...process.env, TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: 'default', TDL_ENCRYPTION_KEY: keys } }, (err, stdout, stderr) =>
      err ? fail(new Error(`tdl status: ${stderr}`)) : done(stdout),
    ),
  );
}

describe('payload encryption', function () {
  it('round-trips payloads; a rotated-in key encrypts while older ones still decrypt', async function () {
    const [oldKey, newKey] = [key(), key()];
    const before = new EncryptionCodec(parseEncryptionKeys(`2026-05:${oldKey}`));
    const [sealed] = await before.encode([toPayload({ summary: 'add jwt-auth subprotocol' })]);
    assert.ok(!Buffer.from(sealed.data!).toString('latin1').includes('jwt-auth'), 'no clear text in the payload');
    assert.equal(Buffer.from(sealed.metadata!['encryption-key-id']!).toString(), '2026-05');
    assert.equal(Buffer.from(sealed.metadata!.encoding!).toString(), 'binary/encrypted');

    const rotated = new EncryptionCodec(parseEncryptionKeys(`2026-11:${newKey},2026-05:${oldKey}`));
    assert.deepEqual(fromPayload((await rotated.decode([sealed]))[0]), { summary: 'add jwt-auth subprotocol' });
    const [resealed] = await rotated.encode([toPayload('x')]);
    assert.equal(Buffer.from(resealed.metadata!['encryption-key-id']!).toString(), '2026-11');

    // Same input, another IV each time; a tampered payload is refused.
    const [again] = await before.encode([toPayload({ summary: 'add jwt-auth subprotocol' })]);
    assert.notDeepEqual(Buffer.from(again.data!), Buffer.from(sealed.data!));
    const tampered = { ...sealed, data: Buffer.from(sealed.data!).fill(0, 20, 21) };
    await assert.rejects(before.decode([tampered]), /unable to authenticate|auth/i);
    // A key no longer held is named, not guessed.
    await assert.rejects(new EncryptionCodec(parseEncryptionKeys(`2026-11:${newKey}`)).decode([sealed]), /key "2026-05", which TDL_ENCRYPTION_KEY does not hold \(it has 2026-11\)/);
    // Unencrypted payloads (from before encryption was turned on) pass through.
    assert.equal(fromPayload((await rotated.decode([toPayload('plain')]))[0]), 'plain');
  });

  it('refuses malformed keys naming the variable and the entry, never printing a key', function () {
    const short = Buffer.from('too short').toString('base64');
    assert.throws(() => parseEncryptionKeys(`k1:${short}`), (e: Error) => e instanceof CodecConfigError && /TDL_ENCRYPTION_KEY: key "k1" is 9 bytes, AES-256 needs 32/.test(e.message) && !e.message.includes(short));
    assert.throws(() => parseEncryptionKeys(key()), /entry 1 must be "id:base64key"/);
    assert.throws(() => parseEncryptionKeys(`a:${key()},a:${key()}`), /key id "a" appears twice/);
    assert.throws(() => parseEncryptionKeys(' , '), /no keys/);
    assert.deepEqual(payloadCodecs({}), []);
  });

  it('keeps a loop, its failures included, out of history in clear text; tdl and the codec server (for the Web UI) decode it', async function () {
    const env = await testEnv();
    const keys = `k1:${key()}`;
    const codecs = payloadCodecs({ TDL_ENCRYPTION_KEY: keys });
    const taskQueue = `tdl-codec-${randomUUID()}`;
    const worker = await createLoopWorker({ connection: env.nativeConnection, taskQueue, reportsDir: tempDir('tdl-reports-'), payloadCodecs: codecs });
    const running = worker.run();
    const { server, url } = await startCodecServer({ codecs, uiOrigin: 'http://localhost:8233', token: 'codec-test-token', port: 0 });
    try {
      const client = new Client({ connection: env.connection, dataConverter: dataConverter(codecs) });
      const name = 'secret-staging-name';
      const handle = await client.workflow.start(messages.WORKFLOW_TYPE, { taskQueue, workflowId: `codec-${randomUUID()}`, args: [loopInput(stagingDir(), { name })] });
      await phaseIs(handle, 'awaiting-fix');
      await handle.signal(messages.fixCommitted, { commit: 'abc1234', summary: 'add the jwt-auth subprotocol' });
      assert.equal((await handle.result()).phase, 'passed');

      // Raw history, read without the codec: no input, status, summaries or results in clear text.
      const raw = await env.client.workflow.getHandle(handle.workflowId).fetchHistory();
      // Search attributes are the exception, by design: the server indexes them (LoopName, LoopPhase).
      const events = raw.events!.filter((e) => !e.upsertWorkflowSearchAttributesEventAttributes);
      const bytes = Buffer.from(temporal.api.history.v1.History.encode({ events }).finish());
      for (const clear of [name, 'jwt-auth', 'e2e-suite', 'abc1234', 'STAGING_DIR', 'awaiting-fix']) {
        assert.ok(!bytes.includes(clear), `"${clear}" in clear text in the history`);
      }

      // Failures: a loop with bad input (the workflow's own failure, naming the field) and a deploy
      // whose command fails (an activity's failure, with the command's words).
      const bad = await client.workflow.start(messages.WORKFLOW_TYPE, { taskQueue, workflowId: `codec-bad-${randomUUID()}`, args: [loopInput(stagingDir(), { deploy: { kind: 'ftp' } })] });
      const badFailure = await bad.result().then(() => assert.fail('bad input should fail the loop'), (e: unknown) => e);
      assert.ok(badFailure instanceof WorkflowFailedError && badFailure.cause instanceof ApplicationFailure, String(badFailure));
      assert.equal(badFailure.cause.type, 'BadInput');
      assert.match(badFailure.cause.message, /deploy\.kind: must be one of/, 'the key holder reads the real message');
      assert.match(badFailure.cause.stack ?? '', /parseInput/, 'and the real stack');

      const failingDeploy = { kind: 'command', command: 'echo "migration kaboom-7731 refused" >&2; exit 3', timeout: '1m' };
      const broken = await client.workflow.start(messages.WORKFLOW_TYPE, { taskQueue, workflowId: `codec-deploy-${randomUUID()}`, args: [loopInput(stagingDir(), { deploy: failingDeploy })] });
      await phaseIs(broken, 'awaiting-fix');
      await broken.signal(messages.fixCommitted, { commit: 'def5678', summary: 'the migration' });
      // `tdl status` with the key (as a user runs it) shows the deploy's error.
      const status = await eventually(async () => {
        const out = await tdlStatus(env.address, broken.workflowId, keys);
        return out.includes('kaboom-7731') ? out : undefined;
      }, 'tdl status to show the failed deploy');
      assert.match(status, /exited with code 3/);
      await broken.cancel();

      for (const handle of [bad, broken]) {
        const failed = (await env.client.workflow.getHandle(handle.workflowId).fetchHistory()).events!.filter((e) => !e.upsertWorkflowSearchAttributesEventAttributes);
        const failures = failed.map((e) => e.activityTaskFailedEventAttributes?.failure ?? e.workflowExecutionFailedEventAttributes?.failure).filter((f) => f);
        assert.ok(failures.length > 0, `${handle.workflowId}: a failure in history`);
        for (const f of failures) {
          assert.equal(f!.message, 'Encoded failure');
          assert.equal(Buffer.from(f!.encodedAttributes!.metadata!.encoding!).toString(), 'binary/encrypted');
        }
        const raw = Buffer.from(temporal.api.history.v1.History.encode({ events: failed }).finish());
        for (const clear of ['deploy.kind', 'must be one of', 'bad loop input', 'parseInput', 'kaboom-7731', 'exited with code', '.js:']) {
          assert.ok(!raw.includes(clear), `"${clear}" in clear text in ${handle.workflowId}'s history`);
        }
      }

      // The Web UI's codec protocol: the input payload as the UI sends it (base64 JSON).
      const input = raw.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0];
      const wire = { payloads: [asUiSendsIt(input)] };
      const post = (path: string, body: unknown, token = 'codec-test-token') =>
        fetch(`${url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', Authorization: `Bearer ${token}`, Origin: 'http://localhost:8233' }, body: JSON.stringify(body) });
      const res = await post('/decode', wire);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('access-control-allow-origin'), 'http://localhost:8233');
      const decoded = (await res.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
      assert.equal(Buffer.from(decoded.payloads[0].metadata.encoding, 'base64').toString(), 'json/plain');
      assert.equal((JSON.parse(Buffer.from(decoded.payloads[0].data, 'base64').toString()) as { name: string }).name, name);

      // Encode then decode through the server gives the payload back; a wrong token gets nothing.
      const enc = (await (await post('/encode', decoded)).json()) as typeof decoded;
      assert.equal(Buffer.from(enc.payloads[0].metadata.encoding, 'base64').toString(), 'binary/encrypted');
      assert.equal((await post('/decode', wire, 'wrong')).status, 401);
      const preflight = await fetch(`${url}/decode`, { method: 'OPTIONS', headers: { Origin: 'http://localhost:8233', 'Access-Control-Request-Method': 'POST' } });
      assert.equal(preflight.status, 204);
      assert.match(preflight.headers.get('access-control-allow-headers')!, /X-Namespace/);
      assert.equal((await post('/decode', { nope: 1 })).status, 400);

      // A failure's encoded message and stack, as the Web UI sends them.
      const badEvents = (await env.client.workflow.getHandle(bad.workflowId).fetchHistory()).events!;
      const attrs = badEvents.find((e) => e.workflowExecutionFailedEventAttributes)!.workflowExecutionFailedEventAttributes!.failure!.encodedAttributes!;
      const decodedFailure = (await (await post('/decode', { payloads: [asUiSendsIt(attrs)] })).json()) as typeof decoded;
      const text = JSON.parse(Buffer.from(decodedFailure.payloads[0].data, 'base64').toString()) as { message: string; stack_trace: string };
      assert.match(text.message, /deploy\.kind: must be one of/);
      assert.match(text.stack_trace, /parseInput/);
    } finally {
      await new Promise((r) => server.close(r));
      worker.shutdown();
      await running;
    }
  });
});
