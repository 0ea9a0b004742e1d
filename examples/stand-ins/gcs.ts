/**
 * A wire-level stand-in for the subset of the Google Cloud Storage JSON API that @google-cloud/storage
 * uses to publish and read reports: single-request uploads (`uploadType=multipart` and `media`),
 * object metadata, media downloads (with the `x-goog-hash` header the client validates), and the
 * API's JSON errors. HTTP on 127.0.0.1; point the client at it with `apiEndpoint`
 * (`TDL_ARTIFACTS_ENDPOINT` for tdl), and no credentials are needed.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CRC32C } from '@google-cloud/storage';

export interface StoredObject {
  content: Buffer;
  contentType: string;
  generation: number;
  updated: string;
}

export interface GcsStandIn {
  /** `http://127.0.0.1:PORT`. */
  endpoint: string;
  /** bucket -> object name -> object. */
  buckets: Map<string, Map<string, StoredObject>>;
  /** Requests served, as `METHOD path`, for tests that count them. */
  requests: string[];
  close(): Promise<void>;
}

/** The largest upload accepted; reports are far smaller. */
const MAX_UPLOAD = 64 * 1024 * 1024;

class ApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Starts the stand-in with these (empty) buckets; an upload to any other is a 404, as on GCS. */
export async function startGcsStandIn(bucketNames: string[], port = 0): Promise<GcsStandIn> {
  const buckets = new Map(bucketNames.map((b) => [b, new Map<string, StoredObject>()]));
  const requests: string[] = [];
  let generation = 1_700_000_000_000_000;

  const bucketOf = (name: string) => {
    const b = buckets.get(name);
    if (!b) throw new ApiError(404, 'The specified bucket does not exist.');
    return b;
  };
  const resource = (bucket: string, name: string, o: StoredObject) => ({
    kind: 'storage#object',
    id: `${bucket}/${name}/${o.generation}`,
    name,
    bucket,
    generation: String(o.generation),
    metageneration: '1',
    contentType: o.contentType,
    size: String(o.content.length),
    md5Hash: createHash('md5').update(o.content).digest('base64'),
    crc32c: crc32cOf(o.content),
    timeCreated: o.updated,
    updated: o.updated,
    storageClass: 'STANDARD',
    selfLink: `${endpoint}/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}`,
    mediaLink: `${endpoint}/download/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}?generation=${o.generation}&alt=media`,
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    requests.push(`${req.method} ${url.pathname}`);
    let m = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
    if (m && req.method === 'POST') {
      const bucket = bucketOf(decodeURIComponent(m[1]));
      const body = await readBody(req);
      const upload = parseUpload(url, req.headers['content-type'] ?? '', body);
      const o = { content: upload.content, contentType: upload.contentType, generation: ++generation, updated: new Date().toISOString() };
      bucket.set(upload.name, o);
      return json(res, 200, resource(decodeURIComponent(m[1]), upload.name, o));
    }
    m = /^\/(?:download\/)?storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(url.pathname);
    if (m && req.method === 'GET') {
      const [bucketName, name] = [decodeURIComponent(m[1]), decodeURIComponent(m[2])];
      const o = bucketOf(bucketName).get(name);
      if (!o) throw new ApiError(404, `No such object: ${bucketName}/${name}`);
      if (url.searchParams.get('alt') !== 'media') return json(res, 200, resource(bucketName, name, o));
      const meta = resource(bucketName, name, o);
      res.writeHead(200, {
        'content-type': o.contentType,
        'content-length': o.content.length,
        'x-goog-hash': `crc32c=${meta.crc32c},md5=${meta.md5Hash}`,
        'x-goog-stored-content-encoding': 'identity',
        'x-goog-generation': meta.generation,
      });
      res.end(o.content);
      return;
    }
    throw new ApiError(404, `the stand-in does not serve ${req.method} ${url.pathname}`);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const code = err instanceof ApiError ? err.code : 500;
      const message = err instanceof Error ? err.message : String(err);
      json(res, code, { error: { code, message, errors: [{ message, domain: 'global', reason: code === 404 ? 'notFound' : 'invalid' }] } });
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    buckets,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function crc32cOf(content: Buffer): string {
  const crc = new CRC32C();
  crc.update(content);
  return crc.toString();
}

function json(res: ServerResponse, code: number, body: unknown): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(code, { 'content-type': 'application/json; charset=UTF-8' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_UPLOAD) throw new ApiError(413, `upload larger than ${MAX_UPLOAD} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** An upload's name, type and bytes: `media` (name in the query) or `multipart/related` (JSON metadata, then the media). */
function parseUpload(url: URL, contentType: string, body: Buffer): { name: string; contentType: string; content: Buffer } {
  const type = url.searchParams.get('uploadType');
  if (type === 'media') {
    const name = url.searchParams.get('name');
    if (!name) throw new ApiError(400, 'Required parameter: name');
    return { name, contentType: contentType || 'application/octet-stream', content: body };
  }
  if (type !== 'multipart') throw new ApiError(400, `uploadType=${type} is not served by the stand-in (use multipart or media)`);
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) throw new ApiError(400, 'multipart upload without a boundary');
  const parts = splitMultipart(body, boundary);
  if (parts.length !== 2) throw new ApiError(400, `a multipart upload has 2 parts (metadata, media), not ${parts.length}`);
  let metadata: { name?: string; contentType?: string };
  try {
    metadata = JSON.parse(parts[0].body.toString('utf8'));
  } catch {
    throw new ApiError(400, 'the metadata part is not JSON');
  }
  const name = metadata.name ?? url.searchParams.get('name');
  if (!name) throw new ApiError(400, 'Required parameter: name');
  return { name, contentType: metadata.contentType ?? parts[1].headers['content-type'] ?? 'application/octet-stream', content: parts[1].body };
}

function splitMultipart(body: Buffer, boundary: string): { headers: Record<string, string>; body: Buffer }[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: { headers: Record<string, string>; body: Buffer }[] = [];
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, start);
    if (next < 0) throw new ApiError(400, 'unterminated multipart body');
    const part = body.subarray(start, next);
    const headerEnd = part.indexOf('\r\n\r\n');
    const headers: Record<string, string> = {};
    for (const line of part.subarray(0, headerEnd).toString('utf8').split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    // The part's bytes end before the CRLF that precedes the next delimiter.
    parts.push({ headers, body: part.subarray(headerEnd + 4, part.length - 2) });
    at = next;
  }
  return parts;
}
