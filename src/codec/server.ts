/**
 * `tdl codec-server`: the Web UI's remote codec protocol. The UI POSTs `{ "payloads": [...] }`
 * (metadata values and data in base64) to `<endpoint>/decode` (and `/encode`) from the browser, so
 * answers carry CORS headers for the UI's origin only. With a token set, a request must bring it as
 * `Authorization: Bearer <token>` (the UI forwards its user's access token when configured to).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';

export interface CodecServerOptions {
  codecs: PayloadCodec[];
  /** The Web UI's origin, e.g. http://localhost:8233. */
  uiOrigin: string;
  /** When set, requests must carry it as a Bearer token. */
  token?: string;
  host?: string;
  port?: number;
}

const MAX_BODY_BYTES = 8 * 1024 * 1024;

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

class BadRequest extends Error {}

function fromJson(p: JsonPayload): Payload {
  if (p === null || typeof p !== 'object') throw new BadRequest('each payload must be an object');
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = Buffer.from(String(v), 'base64');
  return { metadata, data: Buffer.from(p.data ?? '', 'base64') };
}

function toJson(p: Payload): JsonPayload {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = Buffer.from(v ?? []).toString('base64');
  return { metadata, data: Buffer.from(p.data ?? []).toString('base64') };
}

async function readJson(req: IncomingMessage): Promise<{ payloads: JsonPayload[] }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BadRequest(`body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new BadRequest('body is not JSON');
  }
  if (!body || !Array.isArray((body as { payloads?: unknown }).payloads)) throw new BadRequest('body must be { "payloads": [...] }');
  return body as { payloads: JsonPayload[] };
}

function authorized(req: IncomingMessage, token: string | undefined): boolean {
  if (!token) return true;
  const given = Buffer.from(req.headers.authorization ?? '');
  const wanted = Buffer.from(`Bearer ${token}`);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

export function codecHandler(opts: CodecServerOptions) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, body?: unknown) => {
      res.writeHead(status, {
        'Access-Control-Allow-Origin': opts.uiOrigin,
        'Access-Control-Allow-Methods': 'POST, OPTIONS',
        'Access-Control-Allow-Headers': 'Content-Type, X-Namespace, Authorization',
        'Access-Control-Allow-Credentials': 'true',
        Vary: 'Origin',
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    const path = (req.url ?? '').split('?')[0].replace(/\/+$/, '');
    const op = path.endsWith('/encode') ? 'encode' : path.endsWith('/decode') ? 'decode' : null;
    if (req.method === 'OPTIONS') return send(204);
    if (!op) return send(404, { error: 'POST /encode or /decode' });
    if (req.method !== 'POST') return send(405, { error: 'POST only' });
    if (!authorized(req, opts.token)) return send(401, { error: 'a valid Bearer token is required' });
    try {
      let payloads = (await readJson(req)).payloads.map(fromJson);
      const codecs = op === 'encode' ? opts.codecs : [...opts.codecs].reverse();
      for (const codec of codecs) payloads = await codec[op](payloads);
      send(200, { payloads: payloads.map(toJson) });
    } catch (err) {
      send(400, { error: err instanceof Error ? err.message : String(err) });
    }
  };
}

/** Starts the codec server; resolves once it listens. */
export async function startCodecServer(opts: CodecServerOptions): Promise<{ server: Server; url: string }> {
  const handler = codecHandler(opts);
  const server = createServer((req, res) => void handler(req, res));
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8888, host, resolve);
  });
  const { port } = server.address() as { port: number };
  return { server, url: `http://${host}:${port}` };
}
