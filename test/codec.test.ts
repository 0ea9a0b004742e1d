/**
 * Payload encryption: AES-256-GCM with keys from the environment (rotation: encrypt with the newest,
 * decrypt with any), a loop whose history holds no clear text, and the Web UI's codec endpoint.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { defaultPayloadConverter } from '@temporalio/common';
import { CodecConfigError, EncryptionCodec, parseEncryptionKeys, payloadCodecs } from '../src/codec';
import { startCodecServer } from '../src/codec/server';
import { createLoopWorker } from '../src/worker';
import * as messages from '../src/workflows/messages';
import { loopInput, stagingDir } from './support/loop-input';
import { phaseIs, tempDir, testEnv } from './support/temporal';

const key = () => randomBytes(32).toString('base64');
const toPayload = (v: unknown) => defaultPayloadConverter.toPayload(v);
const fromPayload = (p: Parameters<typeof defaultPayloadConverter.fromPayload>[0]) => defaultPayloadConverter.fromPayload(p);

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

  it('keeps a loop out of history in clear text; the codec server decodes it for the Web UI over HTTP', async function () {
    const env = await testEnv();
    const keys = `k1:${key()}`;
    const codecs = payloadCodecs({ TDL_ENCRYPTION_KEY: keys });
    const taskQueue = `tdl-codec-${randomUUID()}`;
    const worker = await createLoopWorker({ connection: env.nativeConnection, taskQueue, reportsDir: tempDir('tdl-reports-'), payloadCodecs: codecs });
    const running = worker.run();
    const { server, url } = await startCodecServer({ codecs, uiOrigin: 'http://localhost:8233', token: 'codec-test-token', port: 0 });
    try {
      const client = new Client({ connection: env.connection, dataConverter: { payloadCodecs: codecs } });
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

      // The Web UI's codec protocol: the input payload as the UI sends it (base64 JSON).
      const input = raw.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0];
      const wire = {
        payloads: [{ metadata: Object.fromEntries(Object.entries(input.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])), data: Buffer.from(input.data!).toString('base64') }],
      };
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
    } finally {
      await new Promise((r) => server.close(r));
      worker.shutdown();
      await running;
    }
  });
});
