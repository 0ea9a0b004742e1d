/**
 * The cloud-run deployer with the real @google-cloud/run client, over gRPC, against the stand-in.
 */
import * as assert from 'node:assert/strict';
import { RevisionsClient } from '@google-cloud/run';
import { googleAuthLibrary, grpc } from 'google-gax';
import { cloudRunDeployer, type CloudRunDeployerOptions } from '../../src/deploy/cloud-run';
import type { DeployConfig } from '../../src/config/types';
import type { DeployRequest } from '../../src/deploy/types';
import { FailureType, LoopError } from '../../src/errors';
import { DB_INIT_FAILURE, startCloudRunStandIn, type CloudRunStandIn } from '../../examples/stand-ins/cloud-run';

type CloudRunConfig = Extract<DeployConfig, { kind: 'cloud-run' }>;

const FAST: CloudRunDeployerOptions = { pollInitialMs: 10, pollMaxMs: 40, progressEveryMs: 15 };
const IMAGE = 'us-docker.pkg.dev/p/r/backend:{commit}';

describe('cloud-run deployer against the Cloud Run Admin API stand-in', function () {
  let standIn: CloudRunStandIn;
  let seeded: { name: string; revision: string };
  let config: CloudRunConfig;

  async function start(pollsToComplete: number): Promise<void> {
    standIn = await startCloudRunStandIn({ pollsToComplete });
    seeded = standIn.seedService({ service: 'backend', image: 'us-docker.pkg.dev/p/r/backend:old' });
    config = {
      kind: 'cloud-run',
      project: 'p',
      region: 'us-central1',
      service: 'backend',
      image: IMAGE,
      endpoint: standIn.endpoint,
      logsEndpoint: null,
      timeout: '1m',
      strategy: 'direct',
    };
  }

  /** The real client pointed at the stand-in, as the deployer does it. */
  function clientOptions() {
    const [host, port] = standIn.endpoint.split(':');
    return { apiEndpoint: host, port: Number(port), sslCreds: grpc.credentials.createInsecure(), authClient: new googleAuthLibrary.OAuth2Client() };
  }

  function request(commit: string, signal = new AbortController().signal): DeployRequest & { notes: string[] } {
    const notes: string[] = [];
    return { commit, outputDir: '/tmp', signal, progress: (note) => notes.push(note), notes };
  }

  async function rejection(promise: Promise<unknown>): Promise<LoopError> {
    const err = await promise.then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof LoopError, `expected a LoopError, got ${String(err)}`);
    return err;
  }

  beforeEach(() => start(3));
  afterEach(() => standIn.close());

  it('deploys a commit as exactly one new revision and records the previous one', async () => {
    const req = request('abc123');
    const result = await cloudRunDeployer(config, FAST).deploy(req);

    assert.equal(standIn.calls.UpdateService, 1);
    assert.ok(standIn.calls.GetOperation >= 3, 'the operation finished only after several polls');
    const revisions = standIn.revisionsOf(seeded.name);
    assert.equal(revisions.length, 2);
    assert.equal(result.revision, revisions[1]);
    assert.match(result.revision!, /^backend-00002-[a-z]{3}$/);
    assert.equal(result.previousRevision, seeded.revision);
    assert.equal(result.alreadyServing, false);
    assert.equal(standIn.servingRevision(seeded.name), result.revision);
    const template = standIn.state.services.get(seeded.name)!.template!;
    assert.equal(template.containers![0].image, 'us-docker.pkg.dev/p/r/backend:abc123');
    assert.equal(template.annotations!['tdl-commit'], 'abc123');
    assert.ok(req.notes.length > 0, 'progress was reported while waiting');

    const revisionsClient = new RevisionsClient(clientOptions());
    const [listed] = await revisionsClient.listRevisions({ parent: seeded.name }, { autoPaginate: false });
    await revisionsClient.close();
    assert.deepEqual(
      listed.map((r) => [r.name!.split('/').pop(), r.annotations!['tdl-commit'] ?? null]),
      [
        [result.revision, 'abc123'],
        [seeded.revision, null],
      ],
    );
  });

  it('treats a deploy of the commit already serving as done, creating no revision', async () => {
    const deployer = cloudRunDeployer(config, FAST);
    const first = await deployer.deploy(request('abc123'));
    const again = await deployer.deploy(request('abc123'));

    assert.equal(again.alreadyServing, true);
    assert.equal(again.revision, first.revision);
    assert.equal(again.previousRevision, seeded.revision, 'the rollback target survives a replay');
    assert.equal(standIn.calls.UpdateService, 1);
    assert.equal(standIn.revisionsOf(seeded.name).length, 2);
  });

  it('surfaces UNAVAILABLE as retryable DeployUnavailable, one call per attempt, until a retry succeeds', async () => {
    standIn.failNextCalls('GetService', grpc.status.UNAVAILABLE, 2);
    const deployer = cloudRunDeployer(config, FAST);
    for (let attempt = 1; attempt <= 2; attempt++) {
      const err = await rejection(deployer.deploy(request('abc123')));
      assert.equal(err.type, FailureType.DeployUnavailable);
      assert.match(err.message, /UNAVAILABLE/);
      assert.equal(standIn.calls.GetService, attempt, 'the deployer itself does not retry');
    }
    const result = await deployer.deploy(request('abc123'));
    assert.equal(result.previousRevision, seeded.revision);
    assert.equal(standIn.revisionsOf(seeded.name).length, 2);
  });

  it('does not create a second revision when retried after losing the operation mid-wait', async () => {
    standIn.failNextCalls('GetOperation', grpc.status.UNAVAILABLE, 1);
    const deployer = cloudRunDeployer(config, FAST);
    const err = await rejection(deployer.deploy(request('abc123')));
    assert.equal(err.type, FailureType.DeployUnavailable);

    const result = await deployer.deploy(request('abc123'));
    assert.equal(standIn.revisionsOf(seeded.name).length, 2, 'the unchanged template made no new revision');
    assert.equal(result.revision, standIn.revisionsOf(seeded.name)[1]);
    assert.equal(result.previousRevision, seeded.revision);
  });

  it('fails at once with DeployRejected on PERMISSION_DENIED, saying what to grant', async () => {
    standIn.failNextCalls('UpdateService', grpc.status.PERMISSION_DENIED, 5, "Permission 'run.services.update' denied");
    const err = await rejection(cloudRunDeployer(config, FAST).deploy(request('abc123')));
    assert.equal(err.type, FailureType.DeployRejected);
    assert.match(err.message, /Permission denied updating Cloud Run service projects\/p\/locations\/us-central1\/services\/backend/);
    assert.match(err.message, /roles\/run\.developer on deploy\.project "p"/);
    assert.equal(err.details.code, 'PERMISSION_DENIED');
    assert.equal(standIn.calls.UpdateService, 1, 'no retry storm');
    assert.equal(standIn.calls.GetOperation, 0);
  });

  it('fails at once with DeployRejected naming the fields when the service does not exist', async () => {
    const err = await rejection(cloudRunDeployer({ ...config, service: 'backnd' }, FAST).deploy(request('abc123')));
    assert.equal(err.type, FailureType.DeployRejected);
    assert.match(
      err.message,
      /^Cloud Run service projects\/p\/locations\/us-central1\/services\/backnd not found .*check deploy\.project, deploy\.region and deploy\.service$/,
    );
    assert.equal(standIn.calls.GetService, 1);
    assert.equal(standIn.calls.UpdateService, 0);
  });

  it('rejects a bad image name before making any call', async () => {
    for (const image of ['us-docker.pkg.dev/p/r/backend', 'us-docker.pkg.dev/p/r/back end:{commit}', 'backend:{commit}']) {
      const err = await rejection(cloudRunDeployer({ ...config, image }, FAST).deploy(request('abc123')));
      assert.equal(err.type, FailureType.DeployRejected);
      assert.match(err.message, /^deploy\.image "/);
    }
    assert.ok(Object.values(standIn.calls).every((n) => n === 0), JSON.stringify(standIn.calls));
  });

  it('fails with DeployRejected, and no stray rejection, when Application Default Credentials are unusable', async () => {
    const saved = process.env.GOOGLE_APPLICATION_CREDENTIALS;
    process.env.GOOGLE_APPLICATION_CREDENTIALS = '/nonexistent/tdl-key.json';
    try {
      const err = await rejection(cloudRunDeployer({ ...config, endpoint: null }, FAST).deploy(request('abc123')));
      assert.equal(err.type, FailureType.DeployRejected);
      assert.match(err.message, /^No usable Application Default Credentials on the worker .*set GOOGLE_APPLICATION_CREDENTIALS/);
    } finally {
      if (saved === undefined) delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
      else process.env.GOOGLE_APPLICATION_CREDENTIALS = saved;
    }
  });

  it('reports a revision that fails to start as DeployFailed with its start-up error; a redeploy makes a new revision', async () => {
    standIn.failNextRevision();
    const deployer = cloudRunDeployer(config, FAST);
    const err = await rejection(deployer.deploy(request('abc123')));

    assert.equal(err.type, FailureType.DeployFailed);
    const [, failed] = standIn.revisionsOf(seeded.name);
    assert.match(err.message, new RegExp(`revision ${failed} of commit abc123 did not become ready`));
    assert.equal(err.details.revision, failed);
    assert.equal(err.details.previousRevision, seeded.revision);
    assert.ok(err.message.includes(DB_INIT_FAILURE), err.message);
    assert.equal(standIn.servingRevision(seeded.name), seeded.revision, 'traffic stayed on the ready revision');

    // Infrastructure fixed: deploying the same commit again must not reuse the failed revision.
    const result = await deployer.deploy(request('abc123'));
    const revisions = standIn.revisionsOf(seeded.name);
    assert.equal(revisions.length, 3);
    assert.equal(result.revision, revisions[2]);
    assert.equal(result.previousRevision, seeded.revision);
    assert.equal(standIn.servingRevision(seeded.name), revisions[2]);
  });

  it('rolls all traffic back to the previous revision, once', async () => {
    const changes: Array<string | null> = [];
    standIn.onTrafficChange((service, revision) => service === seeded.name && changes.push(revision));
    const deployer = cloudRunDeployer(config, FAST);
    const deployed = await deployer.deploy(request('abc123'));

    const rolledBack = await deployer.rollback!(deployed.previousRevision!, new AbortController().signal);
    assert.deepEqual({ revision: rolledBack.revision, from: rolledBack.from }, { revision: seeded.revision, from: deployed.revision });
    assert.equal(standIn.servingRevision(seeded.name), seeded.revision);
    assert.deepEqual(standIn.state.services.get(seeded.name)!.traffic, [
      { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: seeded.revision, percent: 100, tag: '' },
    ]);
    assert.deepEqual(changes, [deployed.revision, seeded.revision]);
    assert.equal(standIn.revisionsOf(seeded.name).length, 2, 'a rollback creates no revision');

    await deployer.rollback!(seeded.revision, new AbortController().signal);
    assert.equal(standIn.calls.UpdateService, 2, 'a repeated rollback changes nothing');
  });

  it('stops waiting when aborted; once Cloud Run has finished, a retry does not deploy again', async () => {
    await standIn.close();
    await start(10_000);
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('activity cancelled')), 150);
    const deployer = cloudRunDeployer(config, FAST);
    await assert.rejects(deployer.deploy(request('abc123', controller.signal)), /activity cancelled/);
    assert.ok(Date.now() - started < 2000);
    const polls = standIn.calls.GetOperation;
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(standIn.calls.GetOperation <= polls + 1, 'polling stopped');

    standIn.completePendingOperations();
    const retried = await deployer.deploy(request('abc123'));
    assert.equal(retried.alreadyServing, true);
    assert.equal(retried.previousRevision, seeded.revision);
    assert.equal(standIn.calls.UpdateService, 1);
    assert.equal(standIn.revisionsOf(seeded.name).length, 2);
  });

  it('gives up waiting after deploy.timeout with a retryable error', async () => {
    await standIn.close();
    await start(10_000);
    const err = await rejection(cloudRunDeployer({ ...config, timeout: '500ms' }, FAST).deploy(request('abc123')));
    assert.equal(err.type, FailureType.DeployUnavailable);
    assert.match(err.message, /within deploy\.timeout \(500ms\)/);
  });
});
