/**
 * Optional payload encryption: AES-256-GCM over each whole payload (its metadata and data), the key's
 * id in the encrypted payload's metadata. Keys come from the environment, newest first:
 *   TDL_ENCRYPTION_KEY="2026-11:<base64 of 32 bytes>,2026-05:<base64 of 32 bytes>"
 * Payloads are encrypted with the first key and decrypted with whichever key their id names, so a
 * key can be rotated in front of the old ones while loops written with them keep running.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type DataConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

export const KEYS_ENV = 'TDL_ENCRYPTION_KEY';
/** The encoding and metadata key of Temporal's encryption sample, so its tools recognise the payloads. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface EncryptionKey {
  id: string;
  key: Buffer;
}

export class CodecConfigError extends Error {}

/** The keys in `value` (the variable's text), newest first; errors name the variable and the entry, never a key. */
export function parseEncryptionKeys(value: string, source = KEYS_ENV): EncryptionKey[] {
  const entries = value.split(',').map((e) => e.trim()).filter(Boolean);
  if (entries.length === 0) throw new CodecConfigError(`${source}: no keys (expected "id:base64key[,id:base64key...]")`);
  const seen = new Set<string>();
  return entries.map((entry, i) => {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon) : '';
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new CodecConfigError(`${source}: entry ${i + 1} must be "id:base64key" with an id of letters, digits, '.', '_' or '-'`);
    if (seen.has(id)) throw new CodecConfigError(`${source}: key id "${id}" appears twice`);
    seen.add(id);
    const key = Buffer.from(entry.slice(colon + 1), 'base64');
    if (key.length !== 32) throw new CodecConfigError(`${source}: key "${id}" is ${key.length} bytes, AES-256 needs 32 (e.g. \`openssl rand -base64 32\`)`);
    return { id, key };
  });
}

export class EncryptionCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;

  constructor(private readonly keys: EncryptionKey[]) {
    if (keys.length === 0) throw new CodecConfigError('an encryption codec needs at least one key');
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { id, key } = this.keys[0];
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: Buffer.from(id) },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (Buffer.from(payload.metadata?.[METADATA_ENCODING_KEY] ?? []).toString() !== ENCRYPTED_ENCODING) return payload;
      const id = Buffer.from(payload.metadata?.[KEY_ID_METADATA] ?? []).toString();
      const key = this.byId.get(id);
      if (!key) throw new CodecConfigError(`payload encrypted with key "${id}", which ${KEYS_ENV} does not hold (it has ${[...this.byId.keys()].join(', ')})`);
      const data = Buffer.from(payload.data ?? []);
      if (data.length < IV_BYTES + TAG_BYTES) throw new CodecConfigError(`payload encrypted with key "${id}" is too short to be one`);
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(plain) as Payload;
    });
  }
}

/** The codecs every client and worker uses: encryption when TDL_ENCRYPTION_KEY is set, none otherwise. */
export function payloadCodecs(env: NodeJS.ProcessEnv = process.env): PayloadCodec[] {
  const value = env[KEYS_ENV];
  return value ? [new EncryptionCodec(parseEncryptionKeys(value))] : [];
}

/** Exports `failureConverter`: failures whose message and stack are encoded, so encrypted too. */
export const ENCODED_FAILURES_CONVERTER = require.resolve('./failure-converter');

/** A client's or worker's data converter for these codecs: with encryption, failures are encoded as well. */
export function dataConverter(codecs: PayloadCodec[]): DataConverter {
  return codecs.length ? { payloadCodecs: codecs, failureConverterPath: ENCODED_FAILURES_CONVERTER } : { payloadCodecs: codecs };
}
