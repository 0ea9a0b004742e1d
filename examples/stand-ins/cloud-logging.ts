/**
 * A wire-level stand-in for the Cloud Logging API v2 (`LoggingServiceV2.ListLogEntries`), served by
 * grpc-js from the .proto files that ship with @google-cloud/logging, so the real client is tested
 * over real gRPC on 127.0.0.1, as the Cloud Run stand-in does for the Admin API.
 *
 * It understands the filters Cloud Run log readers write: comparisons joined by AND, on
 * `resource.type`, `resource.labels.<label>`, `severity` and `timestamp` (`=`, `>=`, `>`, `<=`, `<`).
 * Anything else is refused with INVALID_ARGUMENT, as the real API refuses a filter it cannot parse.
 */
import * as path from 'node:path';
import { GrpcClient, grpc } from 'google-gax';

/** LogSeverity, as Cloud Logging orders it. */
export const SEVERITIES = { DEFAULT: 0, DEBUG: 100, INFO: 200, NOTICE: 300, WARNING: 400, ERROR: 500, CRITICAL: 600, ALERT: 700, EMERGENCY: 800 } as const;
export type Severity = keyof typeof SEVERITIES;

/** One entry as a Cloud Run revision's container writes it (stdout/stderr lines become textPayload). */
export interface StandInEntry {
  service: string;
  revision: string;
  severity: Severity;
  text: string;
  /** Default: now. */
  timestamp?: Date;
  project?: string;
  region?: string;
}

interface StoredEntry extends Required<StandInEntry> {
  insertId: string;
}

interface Comparison {
  field: string;
  op: '=' | '>=' | '>' | '<=' | '<';
  value: string;
}

const COMPARISON = /^([a-zA-Z_.]+)\s*(>=|<=|=|>|<)\s*"((?:[^"\\]|\\.)*)"$|^([a-zA-Z_.]+)\s*(>=|<=|=|>|<)\s*([A-Z]+)$/;

/** `a="x" AND b>=ERROR AND ...` into comparisons; throws on anything else. */
export function parseFilter(filter: string): Comparison[] {
  if (!filter.trim()) return [];
  return filter.split(/\s+AND\s+/).map((part) => {
    const m = COMPARISON.exec(part.trim());
    if (!m) throw new Error(`unsupported filter expression: ${part.trim()}`);
    const [field, op, value] = m[1] ? [m[1], m[2], m[3].replace(/\\(.)/g, '$1')] : [m[4], m[5], m[6]];
    return { field, op: op as Comparison['op'], value };
  });
}

function compare(a: number | string, b: number | string, op: Comparison['op']): boolean {
  switch (op) {
    case '=':
      return a === b;
    case '>=':
      return a >= b;
    case '>':
      return a > b;
    case '<=':
      return a <= b;
    case '<':
      return a < b;
  }
}

function matches(e: StoredEntry, c: Comparison): boolean {
  switch (c.field) {
    case 'resource.type':
      return compare('cloud_run_revision', c.value, c.op);
    case 'resource.labels.service_name':
      return compare(e.service, c.value, c.op);
    case 'resource.labels.revision_name':
      return compare(e.revision, c.value, c.op);
    case 'resource.labels.project_id':
      return compare(e.project, c.value, c.op);
    case 'resource.labels.location':
      return compare(e.region, c.value, c.op);
    case 'severity': {
      const wanted = SEVERITIES[c.value as Severity];
      if (wanted === undefined) throw new Error(`unknown severity ${c.value}`);
      return compare(SEVERITIES[e.severity], wanted, c.op);
    }
    case 'timestamp': {
      const t = Date.parse(c.value);
      if (Number.isNaN(t)) throw new Error(`timestamp "${c.value}" is not RFC 3339`);
      return compare(e.timestamp.getTime(), t, c.op);
    }
    default:
      throw new Error(`unsupported filter field ${c.field}`);
  }
}

function loadService(): grpc.ServiceDefinition {
  // @google-cloud/logging's API protos live in @google-cloud/logging-api; google-gax adds its own
  // folder (google/api, google/rpc) to the include path.
  const api = path.dirname(require.resolve('@google-cloud/logging-api', { paths: [path.dirname(require.resolve('@google-cloud/logging'))] }));
  const root = path.join(api, '..', 'protos');
  const loaded = new GrpcClient().loadProto(root, ['google/logging/v2/logging.proto']) as unknown as {
    google: { logging: { v2: { LoggingServiceV2: grpc.ServiceClientConstructor } } };
  };
  return loaded.google.logging.v2.LoggingServiceV2.service;
}

interface ListRequest {
  resourceNames?: string[];
  filter?: string;
  orderBy?: string;
  pageSize?: number;
  pageToken?: string;
}

export async function startCloudLoggingStandIn() {
  const entries: StoredEntry[] = [];
  const requests: ListRequest[] = [];
  let faults: { code: grpc.status; count: number } | null = null;
  let seq = 0;

  function list(req: ListRequest) {
    requests.push(req);
    const projects = (req.resourceNames ?? []).map((r) => /^projects\/([^/]+)$/.exec(r)?.[1]);
    if (projects.length === 0 || projects.some((p) => !p)) throw { code: grpc.status.INVALID_ARGUMENT, details: 'resource_names: expected projects/PROJECT_ID' };
    let filter: Comparison[];
    try {
      filter = parseFilter(req.filter ?? '');
    } catch (err) {
      throw { code: grpc.status.INVALID_ARGUMENT, details: `filter: ${(err as Error).message}` };
    }
    const desc = /timestamp\s+desc/i.test(req.orderBy ?? '');
    const found = entries
      .filter((e) => projects.includes(e.project) && filter.every((c) => matches(e, c)))
      .sort((a, b) => (desc ? b.timestamp.getTime() - a.timestamp.getTime() : a.timestamp.getTime() - b.timestamp.getTime()));
    const start = Number(req.pageToken || 0);
    const size = req.pageSize && req.pageSize > 0 ? Math.min(req.pageSize, 1000) : 50;
    const page = found.slice(start, start + size);
    return {
      entries: page.map((e) => ({
        logName: `projects/${e.project}/logs/run.googleapis.com%2Fstderr`,
        resource: {
          type: 'cloud_run_revision',
          labels: { project_id: e.project, service_name: e.service, revision_name: e.revision, location: e.region },
        },
        timestamp: { seconds: String(Math.floor(e.timestamp.getTime() / 1000)), nanos: (e.timestamp.getTime() % 1000) * 1e6 },
        severity: e.severity,
        insertId: e.insertId,
        textPayload: e.text,
      })),
      nextPageToken: start + size < found.length ? String(start + size) : '',
    };
  }

  const server = new grpc.Server();
  server.addService(loadService(), {
    ListLogEntries: (call: grpc.ServerUnaryCall<ListRequest, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      if (faults && faults.count > 0) {
        faults.count--;
        callback({ code: faults.code, details: `injected ${grpc.status[faults.code]}` });
        return;
      }
      try {
        callback(null, list(call.request));
      } catch (err) {
        callback(err as Partial<grpc.StatusObject>);
      }
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );

  return {
    /** host:port for `deploy.logsEndpoint`. */
    endpoint: `127.0.0.1:${port}`,
    /** Requests received, for assertions (the filter the reader wrote). */
    requests,
    /** A line a revision's container wrote. */
    write(entry: StandInEntry): void {
      entries.push({ project: 'p', region: 'us-central1', timestamp: new Date(), ...entry, insertId: String(++seq) });
    },
    /** The next `count` calls fail with `code`. */
    failNextCalls(code: grpc.status, count = 1): void {
      faults = { code, count };
    },
    close(): Promise<void> {
      server.forceShutdown();
      return Promise.resolve();
    },
  };
}

export type CloudLoggingStandIn = Awaited<ReturnType<typeof startCloudLoggingStandIn>>;
