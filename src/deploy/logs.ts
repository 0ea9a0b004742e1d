/**
 * The service's own logs after a deploy or a verification failed: the revision's recent errors,
 * from Cloud Logging (cloud-run deploys) or from `verify.logsCommand` (command deploys). What comes
 * back is evidence: redacted, de-duplicated, the top distinct entries, bounded.
 */
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import type * as Logging from '@google-cloud/logging';
import type * as Gax from 'google-gax';
import type { DeployConfig, VerifyConfig } from '../config/types';
import { durationMs } from '../config';
import { clipText, redact } from '../diagnosis/redact';
import { FailureType, LoopError } from '../errors';
import { logTail, runCommand } from '../process';

/** What the loop keeps of a service's logs (it enters workflow history). */
export const LOG_LIMITS = {
  /** Distinct entries kept, most frequent first. */
  entries: 5,
  /** Characters per entry: room for a short stack trace. */
  entry: 1200,
  /** Entries read from Cloud Logging. */
  read: 200,
  /** Output of verify.logsCommand read. */
  commandBytes: 256 * 1024,
} as const;

export interface LogsRequest {
  commit: string;
  /** The revision the deploy created (cloud-run), when known. */
  revision: string | null;
  /** When the deploy started (RFC 3339): older entries are about something else. */
  since: string;
  outputDir: string;
  signal: AbortSignal;
}

export interface ServiceLogs {
  source: 'cloud-logging' | 'command';
  /** Entries read (before de-duplication). */
  read: number;
  /** The top distinct entries, each with how often it (or one differing only in numbers and ids) appeared. */
  top: { text: string; count: number }[];
}

/** verify.logsCommand when given (the team's own log store), otherwise Cloud Logging for Cloud Run. */
export async function readServiceLogs(deploy: DeployConfig, verify: VerifyConfig, req: LogsRequest): Promise<ServiceLogs> {
  if (verify.logsCommand) {
    const entries = splitEntries(await commandOutput(verify.logsCommand, verify, req));
    return { source: 'command', read: entries.length, top: topDistinct(entries) };
  }
  if (deploy.kind !== 'cloud-run') throw new LoopError(FailureType.ServiceLogsRejected, 'no service logs for this deploy: set verify.logsCommand');
  const entries = await cloudLoggingEntries(deploy, req);
  return { source: 'cloud-logging', read: entries.length, top: topDistinct(entries) };
}

// Cloud Logging -------------------------------------------------------------------------------------

type CloudRunConfig = Extract<DeployConfig, { kind: 'cloud-run' }>;

/** @google-cloud/logging has its own google-gax (and grpc-js): its credentials must come from that copy. */
/** A module as @google-cloud/logging itself loads it (its own google-gax major, and that one's auth library). */
function loggingDependency<T>(name: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(require.resolve(name, { paths: [dirname(require.resolve('@google-cloud/logging'))] }));
}

/** The Cloud Logging filter for one revision's errors since the deploy started. */
export function revisionErrorFilter(service: string, revision: string | null, since: string): string {
  const q = (s: string) => JSON.stringify(s);
  return [
    'resource.type="cloud_run_revision"',
    `resource.labels.service_name=${q(service)}`,
    ...(revision ? [`resource.labels.revision_name=${q(revision)}`] : []),
    'severity>=ERROR',
    `timestamp>=${q(since)}`,
  ].join(' AND ');
}

async function cloudLoggingEntries(config: CloudRunConfig, req: LogsRequest): Promise<string[]> {
  const gax = loggingDependency<typeof Gax>('google-gax');
  const { OAuth2Client } = loggingDependency<typeof Gax.googleAuthLibrary>('google-auth-library');
  let options = {};
  if (config.logsEndpoint) {
    const [host, port] = config.logsEndpoint.split(/:(?=\d+$)/);
    // A plaintext stand-in needs no credentials; an empty OAuth2Client keeps the client from looking up ADC.
    options = { apiEndpoint: host, port: Number(port), sslCreds: gax.grpc.credentials.createInsecure(), authClient: new OAuth2Client() };
  }
  // Loaded on first use: a worker whose loops never read Cloud Logging never pays for its client.
  const { v2 } = require('@google-cloud/logging') as typeof Logging;
  const client = new v2.LoggingServiceV2Client(options);
  try {
    // Credentials first: the generated client does not handle their failure (an unhandled rejection).
    await client.auth.getClient().catch((err: Error) => {
      throw rejected(`no credentials for Cloud Logging (${err.message}): give the worker Application Default Credentials with roles/logging.viewer`);
    });
    const [entries] = await client
      .listLogEntries(
        {
          resourceNames: [`projects/${config.project}`],
          filter: revisionErrorFilter(config.service, req.revision, req.since),
          orderBy: 'timestamp desc',
          pageSize: LOG_LIMITS.read,
        },
        { autoPaginate: false, timeout: 30_000, maxResults: LOG_LIMITS.read, retry: null },
      )
      .catch((err: { code?: number; message?: string }) => {
        const status = gax.Status;
        const permanent = [status.PERMISSION_DENIED, status.UNAUTHENTICATED, status.INVALID_ARGUMENT, status.NOT_FOUND];
        // Anything else (UNAVAILABLE, DEADLINE_EXCEEDED, ...) is left to the activity's few retries.
        throw permanent.includes(err.code as number) ? rejected(`Cloud Logging refused to list ${config.service}'s entries: ${err.message}`) : err;
      });
    return (entries as LogEntry[]).map(entryText).filter((t) => t !== '');
  } finally {
    await Promise.allSettled([client.close()]);
  }
}

const rejected = (message: string) => new LoopError(FailureType.ServiceLogsRejected, redact(message));

type LogEntry = { textPayload?: string | null; jsonPayload?: { fields?: Record<string, { stringValue?: string | null }> } | null };

/** A text entry's text; a structured one's `message` (and `stack_trace`, as Error Reporting reads it). */
function entryText(e: LogEntry): string {
  if (e.textPayload) return e.textPayload;
  const f = e.jsonPayload?.fields ?? {};
  return [f.message?.stringValue, f.stack_trace?.stringValue].filter(Boolean).join('\n');
}

// verify.logsCommand ----------------------------------------------------------------------------------

async function commandOutput(command: string, verify: VerifyConfig, req: LogsRequest): Promise<string> {
  const outputPath = join(req.outputDir, 'service-logs.log');
  const result = await runCommand({
    command,
    cwd: process.cwd(),
    env: { ...process.env, COMMIT: req.commit, REVISION: req.revision ?? '', SINCE: req.since },
    timeoutMs: Math.min(durationMs(verify.timeout), 5 * 60_000),
    outputPath,
    signal: req.signal,
  });
  if (result.cancelled) throw new Error('reading the service logs was cancelled');
  if (result.exitCode !== 0) {
    throw new Error(`verify.logsCommand ${result.timedOut ? 'timed out' : `exited with code ${result.exitCode}`}: ${logTail(outputPath, 3)}`);
  }
  const text = readFileSync(outputPath, 'utf8');
  return text.length > LOG_LIMITS.commandBytes ? text.slice(-LOG_LIMITS.commandBytes) : text;
}

/**
 * Lines of a log into entries: a stack trace's indented frames (and the exception line that ends a
 * Python traceback) stay with the line that began it.
 */
export function splitEntries(text: string): string[] {
  const entries: string[] = [];
  let inTrace = false;
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const frame = /^\s+\S/.test(line);
    const endsTrace = inTrace && /^[\w.]+(?:Error|Exception|Exit|Interrupt)\b/.test(line);
    if (entries.length && (frame || endsTrace)) entries[entries.length - 1] += `\n${line}`;
    else entries.push(line);
    inTrace = frame || /^Traceback \(most recent call last\)/.test(line);
  }
  return entries;
}

/** Entries that differ only in numbers, ids and hex are one entry, counted. */
const shape = (text: string) =>
  text
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<id>')
    .replace(/\b0x[0-9a-f]+\b|\b[0-9a-f]{7,}\b/gi, '<hex>')
    .replace(/\d+/g, '<n>')
    .replace(/\s+/g, ' ')
    .trim();

/** Redacted, de-duplicated, most frequent first (first seen breaks ties), bounded. */
export function topDistinct(entries: readonly string[]): ServiceLogs['top'] {
  const seen = new Map<string, { text: string; count: number; first: number }>();
  entries.forEach((raw, i) => {
    const text = redact(clipText(raw.trim(), LOG_LIMITS.entry * 4));
    const key = shape(text);
    const found = seen.get(key);
    if (found) found.count++;
    else seen.set(key, { text: clipText(text, LOG_LIMITS.entry, '…'), count: 1, first: i });
  });
  return [...seen.values()]
    .sort((a, b) => b.count - a.count || a.first - b.first)
    .slice(0, LOG_LIMITS.entries)
    .map(({ text, count }) => ({ text, count }));
}
