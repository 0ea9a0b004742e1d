/**
 * The `cloud-run` deployer: Cloud Run Admin API v2 through @google-cloud/run.
 *
 * A deploy sets the service's container image and sends all traffic to the latest ready revision; a
 * rollback pins all traffic to one revision. verify-then-promote deploys a named candidate revision
 * with no traffic under a tag (what serves stays pinned by name), then promotes it (all traffic, tag
 * removed) or discards it (tag removed, traffic untouched); each step finds its own earlier attempt. Both wait for the update's long-running operation
 * within `deploy.timeout`. Retries are left to the activity's retry policy (one place, visible in
 * the workflow's history), so every RPC here is made once: transient failures surface as
 * DeployUnavailable, permanent ones as DeployRejected with what to fix, a revision that does not
 * become ready as DeployFailed with the operation's error.
 */
import { ServicesClient, protos } from '@google-cloud/run';
import { Status, createBackoffSettings, googleAuthLibrary, grpc } from 'google-gax';
import type { CallOptions, ClientOptions, GoogleError, LROperation } from 'google-gax';
import type { DeployConfig } from '../config/types';
import { durationMs } from '../config';
import { redact } from '../diagnosis/redact';
import { FailureType, LoopError } from '../errors';
import { candidateRevision } from './candidate';
import type { CandidateRequest, CandidateResult, Deployer, DeployRequest, DeployResult, DiscardResult, PromoteResult, RollbackResult } from './types';

type CloudRunConfig = Extract<DeployConfig, { kind: 'cloud-run' }>;
type Service = protos.google.cloud.run.v2.IService;
type Condition = protos.google.cloud.run.v2.ICondition;
const ServiceMessage = protos.google.cloud.run.v2.Service;

/**
 * Template annotations that make a deploy recognisable later: a retried or replayed deploy finds its
 * own revision (and the rollback target it recorded) instead of creating another one.
 */
export const COMMIT_ANNOTATION = 'tdl-commit';
export const PREVIOUS_REVISION_ANNOTATION = 'tdl-previous-revision';
/** Bumped to get a fresh revision for a commit whose revision failed to start (Cloud Run keeps a failed one failed). */
export const ATTEMPT_ANNOTATION = 'tdl-attempt';

const LATEST = 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST' as const;
const BY_REVISION = 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION' as const;

/** Timing knobs; the defaults suit the real API, tests shorten them. */
export interface CloudRunDeployerOptions {
  /** First delay between polls of a long-running operation; grows 1.5x up to `pollMaxMs`. */
  pollInitialMs?: number;
  pollMaxMs?: number;
  /** How often `progress` is called while waiting. */
  progressEveryMs?: number;
  /** Bound on a single RPC (within what is left of `deploy.timeout`). */
  rpcTimeoutMs?: number;
}

const DEFAULTS: Required<CloudRunDeployerOptions> = {
  pollInitialMs: 1000,
  pollMaxMs: 10_000,
  progressEveryMs: 10_000,
  rpcTimeoutMs: 30_000,
};

/** A registry path (host[:port]/path...) with a tag or a sha256 digest, as Docker references go. */
const IMAGE_REFERENCE =
  /^[a-z0-9]+(?:[.-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+(?::\w[\w.-]{0,127}|@sha256:[a-f0-9]{64})$/;

export function cloudRunDeployer(config: CloudRunConfig, options: CloudRunDeployerOptions = {}): Deployer {
  const tuning = { ...DEFAULTS, ...options };
  return {
    async deploy(req: DeployRequest): Promise<DeployResult> {
      const started = Date.now();
      const image = imageFor(config.image, req.commit);
      return withApi(config, tuning, req.signal, async (api) => {
        const current = await api.getService();
        const { template, sameCommit, failedBefore, serving, previousRevision } = earlierDeploy(current, image, req.commit);
        const latestReady = shortName(current.latestReadyRevision);
        const result = (revision: string, alreadyServing: boolean) => deployed(req.commit, revision, previousRevision, alreadyServing, started);

        if (sameCommit && !current.reconciling && latestReady === shortName(current.latestCreatedRevision) && isOnlyTarget(current, latestReady)) {
          return result(latestReady, true);
        }
        const update: Service = {
          ...current,
          template: sameCommit && !failedBefore ? template : withImage(template, image, req.commit, serving, failedBefore),
          traffic: [{ type: LATEST, percent: 100 }],
        };
        req.progress(`updating ${api.serviceName} to ${image}`);
        const outcome = await api.updateAndWait(update, req.progress);
        if ('error' in outcome) {
          const revision = outcome.service?.latestCreatedRevision;
          throw new LoopError(
            FailureType.DeployFailed,
            redact(`Cloud Run revision ${shortName(revision) || '(unknown)'} of commit ${req.commit} did not become ready: ${outcome.error.message}`),
            { revision: shortName(revision) || null, previousRevision, image },
          );
        }
        const revision = shortName(outcome.service.latestReadyRevision);
        return result(revision, false);
      });
    },

    async deployCandidate(req: CandidateRequest): Promise<CandidateResult> {
      const started = Date.now();
      const image = imageFor(config.image, req.commit);
      return withApi(config, tuning, req.signal, async (api) => {
        const current = await api.getService();
        const earlier = earlierDeploy(current, image, req.commit);
        const { template, serving, previousRevision } = earlier;
        const named = template.revision ?? '';
        // An earlier attempt at this very candidate names its revision (a direct deploy leaves it to Cloud Run).
        const sameCommit = earlier.sameCommit && named !== '';
        const failedBefore = sameCommit && earlier.failedBefore;
        const tagged = (status: Service) => (status.trafficStatuses ?? []).find((t) => t.tag === req.tag);
        const result = (revision: string, url: string, alreadyServing: boolean): CandidateResult => ({
          ...deployed(req.commit, revision, previousRevision, alreadyServing, started),
          revision,
          tag: req.tag,
          url,
        });

        const done = tagged(current);
        if (sameCommit && !failedBefore && !current.reconciling && shortName(current.latestReadyRevision) === named && done?.revision === named && done.uri) {
          return result(named, done.uri, true);
        }
        const next = sameCommit && !failedBefore ? template : withImage(template, image, req.commit, serving, failedBefore);
        const revision = sameCommit && !failedBefore ? named : candidateRevision(config.service, req.commit, Number(next.annotations?.[ATTEMPT_ANNOTATION] ?? '1'));
        // What serves now is pinned by name: with LATEST the candidate would take the traffic once ready.
        const traffic = [
          ...liveTraffic(current),
          ...(current.traffic ?? []).filter((t) => t.tag && t.tag !== req.tag && !t.percent),
          { type: BY_REVISION, revision, percent: 0, tag: req.tag },
        ];
        req.progress(`deploying ${image} to ${api.serviceName} as ${revision}, tag ${req.tag}, no traffic`);
        const outcome = await api.updateAndWait({ ...current, template: { ...next, revision }, traffic }, req.progress);
        if ('error' in outcome) {
          throw new LoopError(
            FailureType.DeployFailed,
            redact(`Cloud Run candidate revision ${revision} of commit ${req.commit} did not become ready (no traffic reached it): ${outcome.error.message}`),
            { revision, previousRevision, image },
          );
        }
        const url = tagged(outcome.service)?.uri;
        if (!url) throw new LoopError(FailureType.DeployUnavailable, `Cloud Run gave no URL for tag ${req.tag} of ${api.serviceName}`, { tag: req.tag });
        return result(revision, url, false);
      });
    },

    async promote(revision: string, tag: string, signal: AbortSignal): Promise<PromoteResult> {
      const started = Date.now();
      return withApi(config, tuning, signal, async (api) => {
        const current = await api.getService();
        const from = servingRevision(current);
        const tagged = (current.traffic ?? []).some((t) => t.tag === tag);
        // A retried promotion finds it done.
        if (isOnlyTarget(current, revision) && !tagged) return { revision, from, alreadyPromoted: true, durationMs: Date.now() - started };
        const traffic = [{ type: BY_REVISION, revision, percent: 100 }, ...(current.traffic ?? []).filter((t) => t.tag && t.tag !== tag && !t.percent)];
        const outcome = await api.updateAndWait({ ...current, traffic }, () => undefined, `check that revision ${revision} of ${api.serviceName} exists and is ready`);
        if ('error' in outcome) {
          throw new LoopError(FailureType.DeployFailed, redact(`Promoting Cloud Run revision ${revision} failed: ${outcome.error.message}`), { revision, from });
        }
        return { revision, from, alreadyPromoted: false, durationMs: Date.now() - started };
      });
    },

    async discard(tag: string, signal: AbortSignal): Promise<DiscardResult> {
      return withApi(config, tuning, signal, async (api) => {
        const current = await api.getService();
        const traffic = current.traffic ?? [];
        if (!traffic.some((t) => t.tag === tag)) return { removed: false };
        // The tag goes; a share of traffic, which a candidate never has, would stay where it is.
        const kept = traffic.filter((t) => t.tag !== tag || t.percent).map((t) => (t.tag === tag ? { ...t, tag: '' } : t));
        const outcome = await api.updateAndWait({ ...current, traffic: kept }, () => undefined);
        if ('error' in outcome) throw new LoopError(FailureType.DeployUnavailable, redact(`Removing tag ${tag} from ${api.serviceName} failed: ${outcome.error.message}`), { tag });
        return { removed: true };
      });
    },

    async rollback(toRevision: string, signal: AbortSignal): Promise<RollbackResult> {
      const started = Date.now();
      const target = shortName(toRevision);
      return withApi(config, tuning, signal, async (api) => {
        const current = await api.getService();
        const from = servingRevision(current);
        // A retried rollback finds the traffic already moved.
        if (!isOnlyTarget(current, target)) {
          const outcome = await api.updateAndWait(
            { ...current, traffic: [{ type: BY_REVISION, revision: target, percent: 100 }] },
            () => undefined,
            `check that revision ${target} of ${api.serviceName} exists and is ready`,
          );
          if ('error' in outcome) {
            throw new LoopError(FailureType.DeployFailed, redact(`Rolling Cloud Run traffic back to ${target} failed: ${outcome.error.message}`), {
              revision: target,
              from,
            });
          }
        }
        return { revision: target, from, durationMs: Date.now() - started };
      });
    },
  };
}

/**
 * What the service shows of an earlier deploy of this commit, so that a retried or replayed deploy
 * finds its own revision and the rollback target it recorded.
 */
function earlierDeploy(current: Service, image: string, commit: string) {
  const template = current.template ?? {};
  const annotations = template.annotations ?? {};
  const sameCommit = template.containers?.[0]?.image === image && annotations[COMMIT_ANNOTATION] === commit;
  // Same commit but its revision failed to start: only a new revision can try again.
  const failedBefore = sameCommit && !current.reconciling && current.terminalCondition?.state === 'CONDITION_FAILED';
  const serving = servingRevision(current);
  const previousRevision = sameCommit ? annotations[PREVIOUS_REVISION_ANNOTATION] || null : serving;
  return { template, sameCommit, failedBefore, serving, previousRevision };
}

function deployed(commit: string, revision: string, previousRevision: string | null, alreadyServing: boolean, started: number): DeployResult {
  return { kind: 'cloud-run', commit, revision, previousRevision, alreadyServing, durationMs: Date.now() - started, logPath: null };
}

/** `deploy.image` with `{commit}` replaced, checked before any call is made. */
function imageFor(template: string, commit: string): string {
  const image = template.replaceAll('{commit}', commit);
  if (!IMAGE_REFERENCE.test(image)) {
    throw new LoopError(
      FailureType.DeployRejected,
      `deploy.image "${image}" is not a container image reference: expected a registry path with a tag or ` +
        `digest and no spaces, e.g. "us-docker.pkg.dev/project/repo/backend:{commit}"`,
      { field: 'deploy.image' },
    );
  }
  return image;
}

function withImage(
  template: protos.google.cloud.run.v2.IRevisionTemplate,
  image: string,
  commit: string,
  serving: string | null,
  newAttempt: boolean,
): protos.google.cloud.run.v2.IRevisionTemplate {
  const [first, ...rest] = template.containers ?? [];
  const annotations: Record<string, string> = {
    ...template.annotations,
    [COMMIT_ANNOTATION]: commit,
    [PREVIOUS_REVISION_ANNOTATION]: serving ?? '',
  };
  if (newAttempt) annotations[ATTEMPT_ANNOTATION] = String(Number(annotations[ATTEMPT_ANNOTATION] ?? '1') + 1);
  else delete annotations[ATTEMPT_ANNOTATION];
  // A revision name in the template names exactly one revision: clear it so Cloud Run generates one.
  return { ...template, revision: '', annotations, containers: [{ ...first, image }, ...rest] };
}

function shortName(name: string | null | undefined): string {
  return (name ?? '').split('/').pop() ?? '';
}

/** The revision a traffic status routes to: LATEST means the latest ready revision. */
function revisionOf(service: Service, target: protos.google.cloud.run.v2.ITrafficTargetStatus): string {
  return target.revision || (target.type === LATEST ? shortName(service.latestReadyRevision) : '');
}

/** The revision taking the most traffic. */
function servingRevision(service: Service): string | null {
  const top = [...(service.trafficStatuses ?? [])].sort((a, b) => (b.percent ?? 0) - (a.percent ?? 0))[0];
  return top ? revisionOf(service, top) || null : null;
}

/** The traffic as it is served now, each share pinned to its revision by name (tags kept). */
function liveTraffic(service: Service): protos.google.cloud.run.v2.ITrafficTarget[] {
  return (service.trafficStatuses ?? [])
    .filter((t) => (t.percent ?? 0) > 0)
    .map((t) => ({ type: BY_REVISION, revision: revisionOf(service, t), percent: t.percent, tag: t.tag ?? '' }));
}

/** Whether `revision` takes all of the traffic. */
function isOnlyTarget(service: Service, revision: string): boolean {
  const live = (service.trafficStatuses ?? []).filter((t) => (t.percent ?? 0) > 0);
  return live.length > 0 && live.every((t) => revisionOf(service, t) === revision);
}

/** "Ready=False: container failed to start ..." */
function formatCondition(c: Condition): string {
  const state = c.state === 'CONDITION_SUCCEEDED' ? 'True' : c.state === 'CONDITION_FAILED' ? 'False' : 'Unknown';
  return redact(`${c.type}=${state}${c.message ? `: ${c.message}` : ''}`);
}

/**
 * Unary calls answer plain objects with enum names and int64 as strings; a long-running operation's
 * result is a protobuf message with numeric enums and Longs. Everything goes through this once.
 */
function normalise(service: Service): Service {
  return ServiceMessage.toObject(ServiceMessage.fromObject(service), { enums: String, longs: String, defaults: true }) as Service;
}

function clientOptions(endpoint: string | null): ClientOptions {
  if (endpoint === null) return {}; // Application Default Credentials, the public endpoint
  const match = /^(.+):(\d+)$/.exec(endpoint);
  if (!match) throw new LoopError(FailureType.DeployRejected, `deploy.endpoint "${endpoint}" must be host:port`, { field: 'deploy.endpoint' });
  // A local stand-in speaks plaintext and needs no credentials; an empty OAuth2Client keeps the
  // client from looking up Application Default Credentials.
  return {
    apiEndpoint: match[1],
    port: Number(match[2]),
    sslCreds: grpc.credentials.createInsecure(),
    authClient: new googleAuthLibrary.OAuth2Client(),
  };
}

type UpdateOutcome = { service: Service } | { error: GoogleError; service: Service | null };

/** The API calls one deploy or rollback makes, bounded by `deploy.timeout` and the abort signal. */
class CloudRunApi {
  readonly serviceName: string;
  private readonly deadline: number;
  private readonly services: ServicesClient;

  constructor(
    private readonly config: CloudRunConfig,
    private readonly tuning: Required<CloudRunDeployerOptions>,
    private readonly signal: AbortSignal,
  ) {
    this.serviceName = `projects/${config.project}/locations/${config.region}/services/${config.service}`;
    this.deadline = Date.now() + durationMs(config.timeout);
    const options = clientOptions(config.endpoint);
    this.services = new ServicesClient(options);
  }

  /**
   * Resolves credentials before the first RPC. The generated client starts its stub without handling
   * a credentials failure (an unhandled rejection, fatal to a worker), so it must not get that far.
   */
  async authenticate(): Promise<void> {
    await this.call('authenticating for', () => this.services.auth.getClient());
  }

  async close(): Promise<void> {
    // A client whose stub never started (no credentials) rejects here too: nothing left to close then.
    await Promise.allSettled([this.services.close()]);
  }

  async getService(): Promise<Service> {
    const [service] = await this.call('reading', (opts) => this.services.getService({ name: this.serviceName }, opts));
    return normalise(service);
  }

  /** UpdateService, then wait for its operation: the service it produced, or the operation's error. */
  async updateAndWait(service: Service, progress: (note: string) => void, refusedHint?: string): Promise<UpdateOutcome> {
    // Polling has no overall deadline by default: bound it by what is left of deploy.timeout.
    const polling = (): CallOptions['longrunning'] =>
      createBackoffSettings(this.tuning.pollInitialMs, 1.5, this.tuning.pollMaxMs, null, null, null, this.remaining('updating'));
    const [operation] = await this.call('updating', (opts) => this.services.updateService({ service }, { ...opts, longrunning: polling() }), refusedHint);
    try {
      return { service: normalise(await this.waitFor(operation, progress)) };
    } catch (err) {
      if (this.signal.aborted) throw err;
      // Either polling failed (an API error) or the operation itself finished with an error.
      if (!(operation.latestResponse?.done && operation.error)) throw this.apiError(err, 'waiting for the update of');
      const metadata = operation.metadata as Service | null;
      return { error: err as GoogleError, service: metadata ? normalise(metadata) : null };
    }
  }

  private waitFor(operation: LROperation<Service, Service>, progress: (note: string) => void): Promise<Service> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      let note = `waiting for Cloud Run to update ${this.serviceName}`;
      const ticker = setInterval(() => progress(`${note} (${Math.round((Date.now() - started) / 1000)}s)`), this.tuning.progressEveryMs);
      const onProgress = (metadata: Service) => {
        const condition = normalise(metadata).terminalCondition;
        if (condition?.type) note = `${this.serviceName}: ${formatCondition(condition)}`;
      };
      const onComplete = (result: Service) => {
        stop();
        resolve(result);
      };
      const onError = (err: Error) => {
        stop();
        reject(err);
      };
      const onAbort = () => {
        stop();
        reject(this.signal.reason);
      };
      // Removing the last 'complete' listener is what stops gax's polling. 'error' stays subscribed:
      // a poll in flight may still fail later, and an emitter without an 'error' listener throws.
      const stop = () => {
        clearInterval(ticker);
        operation.removeListener('complete', onComplete);
        operation.removeListener('progress', onProgress);
        this.signal.removeEventListener('abort', onAbort);
      };
      operation.on('error', onError);
      operation.on('progress', onProgress);
      this.signal.addEventListener('abort', onAbort, { once: true });
      if (this.signal.aborted) onAbort();
      else operation.on('complete', onComplete);
    });
  }

  private remaining(action: string): number {
    const left = this.deadline - Date.now();
    if (left <= 0) throw this.timedOut(action);
    return left;
  }

  private timedOut(action: string): LoopError {
    return new LoopError(
      FailureType.DeployUnavailable,
      `Gave up ${action} Cloud Run service ${this.serviceName}: not done within deploy.timeout (${this.config.timeout})`,
      { service: this.serviceName },
    );
  }

  /** One RPC, made once, abandoned on abort, its failure typed. */
  private async call<T>(action: string, rpc: (opts: CallOptions) => Promise<T>, refusedHint?: string): Promise<T> {
    const opts: CallOptions = { retry: null, timeout: Math.min(this.tuning.rpcTimeoutMs, this.remaining(action)) };
    try {
      return await abortable(rpc(opts), this.signal);
    } catch (err) {
      throw this.signal.aborted ? err : this.apiError(err, action, refusedHint);
    }
  }

  private apiError(err: unknown, action: string, refusedHint = "check deploy.image and the service's configuration"): LoopError {
    if (Date.now() >= this.deadline) return this.timedOut(action);
    const code = (err as { code?: unknown }).code;
    const details = (err as { details?: unknown }).details;
    const said = redact(typeof details === 'string' && details ? details : String((err as Error).message ?? err));
    const what = `${action} Cloud Run service ${this.serviceName}`;
    const rejected = (message: string) =>
      new LoopError(FailureType.DeployRejected, message, { code: typeof code === 'number' ? Status[code] : null, service: this.serviceName });
    // google-auth-library, before any RPC: no Application Default Credentials, or a missing key file.
    if (typeof code !== 'number' && /default credentials|does not exist/i.test(said)) {
      return rejected(
        `No usable Application Default Credentials on the worker (${said}): run "gcloud auth application-default login" ` +
          `or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file`,
      );
    }
    switch (code) {
      case Status.NOT_FOUND:
        return rejected(`Cloud Run service ${this.serviceName} not found (${said}): check deploy.project, deploy.region and deploy.service`);
      case Status.PERMISSION_DENIED:
        return rejected(
          `Permission denied ${what} (${said}): the worker's credentials need roles/run.developer on deploy.project ` +
            `"${this.config.project}" and roles/iam.serviceAccountUser on the service's runtime service account`,
        );
      case Status.UNAUTHENTICATED:
        return rejected(
          `Credentials not accepted ${what} (${said}): refresh the worker's Application Default ` +
            `Credentials (gcloud auth application-default login, or GOOGLE_APPLICATION_CREDENTIALS)`,
        );
      case Status.INVALID_ARGUMENT:
      case Status.FAILED_PRECONDITION:
      case Status.OUT_OF_RANGE:
      case Status.ALREADY_EXISTS:
      case Status.UNIMPLEMENTED:
        return rejected(`Request refused ${what} (${said}): ${refusedHint}`);
    }
    // UNAVAILABLE, RESOURCE_EXHAUSTED (429), INTERNAL, UNKNOWN, DEADLINE_EXCEEDED, ABORTED, CANCELLED,
    // network errors: a later attempt can succeed.
    const name = typeof code === 'number' ? Status[code] : 'error';
    return new LoopError(FailureType.DeployUnavailable, `${name} ${what}: ${said}`, { code: name, service: this.serviceName });
  }
}

async function withApi<T>(
  config: CloudRunConfig,
  tuning: Required<CloudRunDeployerOptions>,
  signal: AbortSignal,
  use: (api: CloudRunApi) => Promise<T>,
): Promise<T> {
  signal.throwIfAborted();
  const api = new CloudRunApi(config, tuning, signal);
  try {
    await api.authenticate();
    return await use(api);
  } finally {
    await api.close();
  }
}

/** Settles with `promise`, or rejects with the abort reason first; the promise's late outcome is dropped. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
