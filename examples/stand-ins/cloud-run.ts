/**
 * A wire-level stand-in for the Cloud Run Admin API v2 (services, revisions, long-running operations),
 * served by grpc-js from the .proto files that ship in @google-cloud/run, so tests drive the real
 * client over real gRPC on 127.0.0.1.
 *
 * It keeps services, revisions, traffic and operations the way Cloud Run does: a changed template
 * creates a revision `{service}-{00001}-{abc}`, an unchanged one does not; traffic `LATEST` follows
 * the latest *ready* revision; an update's operation finishes only after a number of GetOperation
 * polls, its metadata and response the Service packed in an `Any`. A template may name its revision;
 * traffic may be split across revisions and carry tags, each tag with its own URL, and Cloud Run's tag
 * rules are enforced; every routing is kept in a history, so tests can tell what was ever served.
 */
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { GrpcClient, grpc } from 'google-gax';
import { protos } from '@google-cloud/run';

type IService = protos.google.cloud.run.v2.IService;
type IRevision = protos.google.cloud.run.v2.IRevision;
type ICondition = protos.google.cloud.run.v2.ICondition;
type IOperation = protos.google.longrunning.IOperation;

export type StandInMethod =
  | 'GetService'
  | 'UpdateService'
  | 'GetRevision'
  | 'ListRevisions'
  | 'GetOperation';

export interface CloudRunStandInOptions {
  /** GetOperation calls before an operation is done (0: done in the UpdateService answer). Default 2. */
  pollsToComplete?: number;
  /** A tag's URL (`trafficStatuses[].uri`); default Cloud Run's `https://TAG---SERVICE-abc123-uc.a.run.app`. */
  tagUrl?: (tag: string, service: string) => string;
}

/** A service's traffic after one update: revision, percent and tag of each target. */
export interface TrafficChange {
  service: string;
  targets: { revision: string; percent: number; tag: string }[];
}

export interface SeedServiceOptions {
  project?: string;
  region?: string;
  service: string;
  image: string;
  /** Template annotations (e.g. `tdl-commit`), copied to the seeded revision. */
  annotations?: Record<string, string>;
}

/** The container log line of the seed's failed start-up, used when a test does not give its own. */
export const DB_INIT_FAILURE =
  "Database initialization failed in staging environment: Failed to ensure database tables exist: " +
  "Failed to create tables: {'subscriptions', 'credit_transactions', 'agent_executions'}";

const SERVICE_TYPE_URL = 'type.googleapis.com/google.cloud.run.v2.Service';
const LATEST = 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST' as const;
const BY_REVISION = 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION' as const;
const SUCCEEDED = 'CONDITION_SUCCEEDED' as const;
const FAILED = 'CONDITION_FAILED' as const;
const RECONCILING = 'CONDITION_RECONCILING' as const;

interface PendingOperation {
  polls: number;
  finish: () => void;
}

interface Protos {
  services: grpc.ServiceDefinition;
  revisions: grpc.ServiceDefinition;
  operations: grpc.ServiceDefinition;
  /** Service <-> bytes with the loader's options, so stored objects have every default filled in. */
  encodeService: (service: IService) => Buffer;
  decodeService: (bytes: Buffer) => IService;
}

function loadProtos(): Protos {
  // @google-cloud/run resolves to build/src/index.js; its protos are in build/protos. google-gax
  // adds its own proto folder (longrunning, rpc status) to the include path.
  const root = path.join(path.dirname(require.resolve('@google-cloud/run')), '..', 'protos');
  const loaded = new GrpcClient().loadProto(root, [
    'google/cloud/run/v2/service.proto',
    'google/cloud/run/v2/revision.proto',
    'google/longrunning/operations.proto',
  ]) as unknown as {
    google: {
      cloud: { run: { v2: { Services: grpc.ServiceClientConstructor; Revisions: grpc.ServiceClientConstructor } } };
      longrunning: { Operations: grpc.ServiceClientConstructor };
    };
  };
  const { Services, Revisions } = loaded.google.cloud.run.v2;
  const getService = Services.service.GetService;
  return {
    services: Services.service,
    revisions: Revisions.service,
    operations: loaded.google.longrunning.Operations.service,
    encodeService: (service) => getService.responseSerialize(service),
    decodeService: (bytes) => getService.responseDeserialize(bytes) as IService,
  };
}

function timestamp(): protos.google.protobuf.ITimestamp {
  const ms = Date.now();
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

function condition(type: string, state: ICondition['state'], message = '', extra: ICondition = {}): ICondition {
  return { type, state, message, lastTransitionTime: timestamp(), ...extra };
}

function shortName(name: string | null | undefined): string {
  return (name ?? '').split('/').pop() ?? '';
}

function grpcError(code: grpc.status, details: string): Partial<grpc.StatusObject> {
  return { code, details };
}

export async function startCloudRunStandIn(options: CloudRunStandInOptions = {}) {
  const pollsToComplete = options.pollsToComplete ?? 2;
  const tagUrl = options.tagUrl ?? ((tag: string, service: string) => `https://${tag}---${service}-abc123-uc.a.run.app`);
  const trafficHistory: TrafficChange[] = [];
  const wire = loadProtos();

  const services = new Map<string, IService>();
  const revisions = new Map<string, IRevision>();
  const operations = new Map<string, IOperation>();
  const pending: PendingOperation[] = [];
  const calls: Record<StandInMethod, number> = {
    GetService: 0,
    UpdateService: 0,
    GetRevision: 0,
    ListRevisions: 0,
    GetOperation: 0,
  };
  const injected = new Map<StandInMethod, { code: grpc.status; message: string; count: number }>();
  const trafficListeners: Array<(service: string, revision: string | null) => void> = [];
  let failNextRevisionWith: string | null = null;

  /** Every stored Service goes through the wire once, so comparisons see the client's shapes. */
  const canonical = (service: IService): IService => wire.decodeService(wire.encodeService(service));
  const packService = (service: IService) => ({ type_url: SERVICE_TYPE_URL, value: wire.encodeService(service) });

  function servingRevision(serviceName: string): string | null {
    const statuses = services.get(serviceName)?.trafficStatuses ?? [];
    const top = [...statuses].sort((a, b) => (b.percent ?? 0) - (a.percent ?? 0))[0];
    return top?.revision || null;
  }

  /** Resolves `traffic` into `trafficStatuses`: LATEST means the latest ready revision. */
  function routeTraffic(service: IService): void {
    const before = servingRevision(service.name!);
    service.trafficStatuses = (service.traffic ?? []).map((t) => ({
      type: t.type,
      revision: t.type === LATEST ? shortName(service.latestReadyRevision) : t.revision,
      percent: t.percent,
      tag: t.tag ?? '',
      uri: t.tag ? tagUrl(t.tag, shortName(service.name)) : '',
    }));
    trafficHistory.push({
      service: service.name!,
      targets: service.trafficStatuses.map((t) => ({ revision: t.revision ?? '', percent: t.percent ?? 0, tag: t.tag ?? '' })),
    });
    const after = servingRevision(service.name!);
    if (after !== before) for (const listener of trafficListeners) listener(service.name!, after);
  }

  function createRevision(service: IService): IRevision {
    const generation = [...revisions.values()].filter((r) => r.service === service.name).length + 1;
    const suffix = Array.from({ length: 3 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('');
    // A template may name its revision (a name can be used once); otherwise Cloud Run makes one up.
    const id = service.template?.revision || `${shortName(service.name)}-${String(generation).padStart(5, '0')}-${suffix}`;
    const revision: IRevision = {
      name: `${service.name}/revisions/${id}`,
      uid: randomUUID(),
      generation: '1',
      service: service.name,
      annotations: { ...service.template?.annotations },
      labels: { ...service.template?.labels },
      containers: service.template?.containers ?? [],
      createTime: timestamp(),
      reconciling: true,
      conditions: [condition('Ready', RECONCILING, 'Deploying revision.')],
    };
    revisions.set(revision.name!, revision);
    return revision;
  }

  function settleRevision(service: IService, revision: IRevision, failure: string | null): protos.google.rpc.IStatus | null {
    revision.reconciling = false;
    if (failure === null) {
      revision.conditions = [
        condition('Ready', SUCCEEDED),
        condition('ContainerHealthy', SUCCEEDED),
        condition('ResourcesAvailable', SUCCEEDED),
      ];
      service.latestReadyRevision = revision.name;
      service.terminalCondition = condition('Ready', SUCCEEDED);
      return null;
    }
    const id = shortName(revision.name);
    const startFailure =
      `The user-provided container failed to start and listen on the port defined provided by the ` +
      `PORT=8080 environment variable within the allocated timeout. Logs: ${failure}`;
    revision.conditions = [
      condition('Ready', FAILED, startFailure, { reason: 'REVISION_FAILED' }),
      condition('ContainerHealthy', FAILED, startFailure, { revisionReason: 'HEALTH_CHECK_CONTAINER_ERROR' }),
      condition('ResourcesAvailable', SUCCEEDED),
    ];
    service.terminalCondition = condition('Ready', FAILED, `Revision '${id}' is not ready and cannot serve traffic. ${startFailure}`, {
      reason: 'REVISION_FAILED',
    });
    return { code: grpc.status.FAILED_PRECONDITION, message: service.terminalCondition.message, details: [] };
  }

  function updateService(request: protos.google.cloud.run.v2.IUpdateServiceRequest): IOperation {
    const name = request.service?.name ?? '';
    const current = services.get(name);
    if (!current) throw grpcError(grpc.status.NOT_FOUND, `Service '${name}' does not exist.`);
    const wanted = canonical(request.service!);
    const image = wanted.template?.containers?.[0]?.image ?? '';
    if (!image) throw grpcError(grpc.status.INVALID_ARGUMENT, 'spec.template.spec.containers[0].image: Required');
    const traffic = wanted.traffic ?? [];
    if (traffic.reduce((sum, t) => sum + (t.percent ?? 0), 0) !== 100) {
      throw grpcError(grpc.status.INVALID_ARGUMENT, 'spec.traffic: percentages must add up to 100');
    }
    const templateChanged = JSON.stringify(wanted.template) !== JSON.stringify(current.template);
    const newName = templateChanged ? wanted.template?.revision ?? '' : '';
    if (newName && revisions.has(`${name}/revisions/${newName}`)) {
      throw grpcError(grpc.status.ALREADY_EXISTS, `Revision named '${newName}' with different configuration already exists.`);
    }
    // A target may name the revision this very update creates.
    const unknown = traffic.find((t) => t.type === BY_REVISION && t.revision !== newName && !revisions.has(`${name}/revisions/${t.revision}`));
    if (unknown) throw grpcError(grpc.status.INVALID_ARGUMENT, `spec.traffic: revision '${unknown.revision}' does not exist`);
    const badTag = traffic.find((t) => t.tag && !(/^[a-z][a-z0-9-]*$/.test(t.tag) && t.tag.length + shortName(name).length <= 46));
    if (badTag) {
      throw grpcError(
        grpc.status.INVALID_ARGUMENT,
        `spec.traffic.tag: '${badTag.tag}' must be lowercase letters, digits and '-', start with a letter, and with the service name be at most 46 characters`,
      );
    }
    // Only user-settable fields are taken from the request; output-only fields stay the server's.
    Object.assign(current, {
      template: wanted.template,
      traffic,
      labels: wanted.labels,
      annotations: wanted.annotations,
      generation: String(Number(current.generation ?? 0) + 1),
      updateTime: timestamp(),
      reconciling: true,
      terminalCondition: condition('Ready', RECONCILING, 'Deploying.'),
    } satisfies IService);
    let revision: IRevision | null = null;
    const failure = templateChanged ? failNextRevisionWith : null;
    if (templateChanged) {
      revision = createRevision(current);
      failNextRevisionWith = null;
      current.latestCreatedRevision = revision.name;
    }

    const op: IOperation = {
      name: `projects/${name.split('/')[1]}/locations/${name.split('/')[3]}/operations/${randomUUID()}`,
      done: false,
      metadata: packService(current),
    };
    operations.set(op.name!, op);
    const finish = () => {
      const error = revision ? settleRevision(current, revision, failure) : null;
      if (!revision) current.terminalCondition = condition('Ready', SUCCEEDED);
      current.reconciling = false;
      current.observedGeneration = current.generation;
      routeTraffic(current);
      Object.assign(op, { done: true, metadata: packService(current) });
      if (error) op.error = error;
      else op.response = packService(current);
    };
    if (pollsToComplete === 0) finish();
    else pending.push({ polls: 0, finish });
    return op;
  }

  /** Cloud Run works on its own clock; here every poll of any operation moves all of them one step. */
  function tick(): void {
    for (const p of [...pending]) {
      p.polls += 1;
      if (p.polls >= pollsToComplete) {
        pending.splice(pending.indexOf(p), 1);
        p.finish();
      }
    }
  }

  function unary<Req, Res>(method: StandInMethod, handle: (request: Req) => Res): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      calls[method] += 1;
      const fault = injected.get(method);
      if (fault && fault.count > 0) {
        fault.count -= 1;
        callback(grpcError(fault.code, fault.message));
        return;
      }
      try {
        callback(null, handle(call.request));
      } catch (err) {
        callback(err as Partial<grpc.StatusObject>);
      }
    };
  }

  function lookup<T>(map: Map<string, T>, name: string, kind: string): T {
    const found = map.get(name);
    if (!found) throw grpcError(grpc.status.NOT_FOUND, `${kind} '${name}' does not exist.`);
    return found;
  }

  const server = new grpc.Server();
  server.addService(wire.services, {
    GetService: unary('GetService', (r: protos.google.cloud.run.v2.IGetServiceRequest) => lookup(services, r.name ?? '', 'Service')),
    UpdateService: unary('UpdateService', updateService),
  });
  server.addService(wire.revisions, {
    GetRevision: unary('GetRevision', (r: protos.google.cloud.run.v2.IGetRevisionRequest) => lookup(revisions, r.name ?? '', 'Revision')),
    ListRevisions: unary('ListRevisions', (r: protos.google.cloud.run.v2.IListRevisionsRequest) => ({
      revisions: [...revisions.values()].filter((rev) => rev.service === r.parent).reverse(),
      nextPageToken: '',
    })),
  });
  server.addService(wire.operations, {
    GetOperation: unary('GetOperation', (r: protos.google.longrunning.IGetOperationRequest) => {
      tick();
      return lookup(operations, r.name ?? '', 'Operation');
    }),
  });

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );

  return {
    /** host:port for `deploy.endpoint`. */
    endpoint: `127.0.0.1:${port}`,
    /** The stand-in's state, for assertions (stored in the client's camelCase shapes). */
    state: { services, revisions, operations } as const,
    /** Calls received per method, injected failures included. */
    calls,
    /** A service with one ready revision serving 100% through `LATEST`; returns its names. */
    seedService(seed: SeedServiceOptions): { name: string; revision: string } {
      const name = `projects/${seed.project ?? 'p'}/locations/${seed.region ?? 'us-central1'}/services/${seed.service}`;
      const service = canonical({
        name,
        uid: randomUUID(),
        generation: '1',
        createTime: timestamp(),
        template: { containers: [{ image: seed.image }], annotations: seed.annotations ?? {} },
        traffic: [{ type: LATEST, percent: 100 }],
        uri: `https://${seed.service}-abc123-uc.a.run.app`,
      });
      services.set(name, service);
      const revision = createRevision(service);
      settleRevision(service, revision, null);
      service.latestCreatedRevision = revision.name;
      service.observedGeneration = service.generation;
      routeTraffic(service);
      return { name, revision: shortName(revision.name) };
    },
    /** The next revision created fails readiness: its container "fails to start" with this log line. */
    failNextRevision(logLine: string = DB_INIT_FAILURE): void {
      failNextRevisionWith = logLine;
    },
    /** The next `count` calls of `method` fail with `code` (counted like any other call). */
    failNextCalls(method: StandInMethod, code: grpc.status, count = 1, message = `injected ${grpc.status[code]}`): void {
      injected.set(method, { code, message, count });
    },
    /** Finishes every pending operation now, as if Cloud Run had carried on without being polled. */
    completePendingOperations(): void {
      for (const p of pending.splice(0)) p.finish();
    },
    /** Short name of the revision taking the most traffic, or null. */
    servingRevision,
    /** Called with the service name and the newly serving revision whenever that changes. */
    onTrafficChange(listener: (service: string, revision: string | null) => void): void {
      trafficListeners.push(listener);
    },
    /** The service's traffic after each update that finished (the seeded one first): what was ever served. */
    trafficHistory(serviceName: string): TrafficChange[] {
      return trafficHistory.filter((c) => c.service === serviceName);
    },
    /** Short names of the service's revisions, oldest first. */
    revisionsOf(serviceName: string): string[] {
      return [...revisions.values()].filter((r) => r.service === serviceName).map((r) => shortName(r.name));
    },
    close(): Promise<void> {
      server.forceShutdown();
      return Promise.resolve();
    },
  };
}

export type CloudRunStandIn = Awaited<ReturnType<typeof startCloudRunStandIn>>;
