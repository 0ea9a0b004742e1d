/**
 * The artifact store: where a loop's reports and logs are published so that any worker and any
 * person can read them, whichever worker wrote them. Activities write each file into the worker's
 * reports folder first (redacted); publishing then makes it reachable by a URL:
 * - the local folder store (default) is the reports folder itself: `file://` URLs;
 * - Google Cloud Storage (`TDL_ARTIFACTS=gs://BUCKET[/PREFIX]`): the file is uploaded, `gs://` URLs,
 *   with `https://storage.cloud.google.com/...` as the link a person opens in a browser.
 * `TDL_ARTIFACTS_ENDPOINT` points the GCS client at a local stand-in of its JSON API (tests, demos).
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as CloudStorage from '@google-cloud/storage';

export interface ArtifactStore {
  /** Where the store keeps artifacts, as users configure it (`/abs/folder` or `gs://bucket/prefix`). */
  readonly location: string;
  /** Publishes a file of the reports folder (its absolute path); returns its URL. */
  publish(path: string): Promise<string>;
  /** An artifact's content from its URL (see fetchArtifact), with this store's settings. */
  read(url: string): Promise<Buffer>;
}

export interface ArtifactSettings {
  /** `gs://BUCKET[/PREFIX]`, or empty for the local reports folder. */
  artifacts?: string;
  /** `http://host:port` of a GCS JSON API stand-in (no credentials are sent to it). */
  endpoint?: string;
}

/** The settings from the worker's (or tdl's) environment. */
export function artifactSettings(env: NodeJS.ProcessEnv = process.env): ArtifactSettings {
  return { artifacts: env.TDL_ARTIFACTS || undefined, endpoint: env.TDL_ARTIFACTS_ENDPOINT || undefined };
}

export class ArtifactError extends Error {
  override name = 'ArtifactError';
}

/** `gs://bucket/some/prefix` -> bucket and prefix (`some/prefix/`, or empty). */
export function parseGsUrl(url: string, field = 'TDL_ARTIFACTS'): { bucket: string; object: string } {
  const m = /^gs:\/\/([a-z0-9][a-z0-9._-]{1,220}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new ArtifactError(`${field}: "${url}" is not a gs://BUCKET[/PATH] URL with a valid bucket name`);
  return { bucket: m[1], object: m[2] ?? '' };
}

/** The store a worker publishes to; bad settings stop the worker at start, naming the variable. */
export function createArtifactStore(reportsDir: string, settings: ArtifactSettings = artifactSettings()): ArtifactStore {
  const root = resolve(reportsDir);
  const local = (path: string) => {
    const abs = resolve(root, path);
    if (!abs.startsWith(root + sep)) throw new ArtifactError(`${path} is not in the reports folder ${root}`);
    return abs;
  };
  const read = (url: string) => fetchArtifact(url, settings);
  if (!settings.artifacts) {
    return { location: root, publish: async (path) => pathToFileURL(local(path)).href, read };
  }
  const { bucket, object } = parseGsUrl(settings.artifacts);
  const prefix = object && !object.endsWith('/') ? `${object}/` : object;
  const files = gcsClient(settings.endpoint).bucket(bucket);
  return {
    location: `gs://${bucket}/${prefix}`,
    publish: async (path) => {
      const name = prefix + relative(root, local(path)).split(sep).join('/');
      // One request, no resumable session: reports are small, and a retried activity uploads again.
      await files.file(name).save(await readFile(local(path)), { resumable: false, contentType: contentTypeOf(name) });
      return `gs://${bucket}/${name}`;
    },
    read,
  };
}

function gcsClient(endpoint: string | undefined): CloudStorage.Storage {
  // Loaded on first use: a worker that keeps its reports on disk never pays for the client.
  const { Storage } = require('@google-cloud/storage') as typeof CloudStorage;
  if (!endpoint) return new Storage();
  if (!/^https?:\/\/[^/]+\/?$/.test(endpoint)) {
    throw new ArtifactError(`TDL_ARTIFACTS_ENDPOINT: "${endpoint}" must be http(s)://HOST:PORT`);
  }
  // A custom endpoint gets no credentials (the client's default): it is a local stand-in.
  return new Storage({ apiEndpoint: endpoint.replace(/\/$/, ''), projectId: 'tdl-local' });
}

function contentTypeOf(name: string): string {
  if (name.endsWith('.md')) return 'text/markdown; charset=utf-8';
  if (name.endsWith('.json')) return 'application/json';
  return 'text/plain; charset=utf-8';
}

/**
 * The link a person opens for an artifact URL: the Cloud Console's authenticated download link for
 * `gs://`, the URL itself for http(s), none for local files (they are only on that machine).
 */
export function artifactLink(url: string): string | null {
  if (url.startsWith('gs://')) {
    const { bucket, object } = parseGsUrl(url, 'artifact URL');
    return `https://storage.cloud.google.com/${bucket}/${object.split('/').map(encodeURIComponent).join('/')}`;
  }
  return /^https?:\/\//.test(url) ? url : null;
}

/**
 * An artifact's content from its URL, wherever it is: `file://` (or a plain absolute path, as loops
 * recorded before reports had URLs), `gs://` (through `settings.endpoint` when set, else Google's API
 * with Application Default Credentials), or http(s).
 */
export async function fetchArtifact(url: string, settings: ArtifactSettings = artifactSettings()): Promise<Buffer> {
  try {
    if (url.startsWith('file://')) return await readFile(fileURLToPath(url));
    if (isAbsolute(url)) return await readFile(url);
    if (url.startsWith('gs://')) {
      const { bucket, object } = parseGsUrl(url, 'artifact URL');
      const [content] = await gcsClient(settings.endpoint).bucket(bucket).file(object).download();
      return content;
    }
    if (/^https?:\/\//.test(url)) {
      const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
      if (!res.ok) throw new ArtifactError(`HTTP ${res.status}`);
      return Buffer.from(await res.arrayBuffer());
    }
  } catch (err) {
    if (err instanceof ArtifactError && !/^HTTP /.test(err.message)) throw err;
    throw new ArtifactError(`cannot read ${url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  throw new ArtifactError(`cannot read "${url}": not a file://, gs:// or http(s) URL, nor an absolute path`);
}
