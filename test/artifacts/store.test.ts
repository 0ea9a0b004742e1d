/** The artifact store: the local folder, and Google Cloud Storage through the real client against the stand-in of its JSON API. */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArtifactError, artifactLink, createArtifactStore, fetchArtifact } from '../../src/artifacts';
import { startGcsStandIn, type GcsStandIn } from '../../examples/stand-ins/gcs';
import { tempDir } from '../support/temporal';

/** A report file in a fresh reports folder, as the diagnosis writes it. */
function reportIn(content: string | Buffer): { reportsDir: string; path: string } {
  const reportsDir = tempDir('tdl-store-');
  mkdirSync(join(reportsDir, 'loop-1', 'cycle-2'), { recursive: true });
  const path = join(reportsDir, 'loop-1', 'cycle-2', 'report.md');
  writeFileSync(path, content);
  return { reportsDir, path };
}

describe('artifact store', function () {
  describe('local folder (default)', function () {
    it('publishes a report as its file:// URL, readable from that URL', async function () {
      const { reportsDir, path } = reportIn('# cycle 2\n');
      const store = createArtifactStore(reportsDir, {});
      const url = await store.publish(path);
      assert.match(url, /^file:\/\//);
      assert.equal(fileURLToPath(url), path);
      assert.equal((await store.read(url)).toString(), '# cycle 2\n');
      // Loops recorded before reports had URLs hold plain paths: still readable.
      assert.equal((await fetchArtifact(path)).toString(), '# cycle 2\n');
      assert.equal(artifactLink(url), null, 'a local file has no link for other machines');
    });

    it('refuses a file outside the reports folder, and says which URL it cannot read', async function () {
      const { reportsDir } = reportIn('x');
      const store = createArtifactStore(reportsDir, {});
      await assert.rejects(store.publish('/etc/passwd'), (err: Error) => err instanceof ArtifactError && /not in the reports folder/.test(err.message));
      await assert.rejects(fetchArtifact(`file://${reportsDir}/nope.md`), (err: Error) => err instanceof ArtifactError && err.message.includes('nope.md'));
      await assert.rejects(fetchArtifact('reports/x.md'), /not a file:\/\/, gs:\/\/ or http\(s\) URL/);
    });
  });

  describe('Google Cloud Storage (the real client, the stand-in of its JSON API)', function () {
    let gcs: GcsStandIn;
    before(async function () {
      gcs = await startGcsStandIn(['tdl-reports']);
    });
    after(async function () {
      await gcs.close();
    });

    it('uploads under the prefix, answers a gs:// URL with an https link, and reads it back byte for byte', async function () {
      const bytes = Buffer.from('# cycle 2\n\nré sumé ✓\n'.repeat(1000));
      const { reportsDir, path } = reportIn(bytes);
      const settings = { artifacts: 'gs://tdl-reports/staging/nightly', endpoint: gcs.endpoint };
      const store = createArtifactStore(reportsDir, settings);
      assert.equal(store.location, 'gs://tdl-reports/staging/nightly/');
      const url = await store.publish(path);
      assert.equal(url, 'gs://tdl-reports/staging/nightly/loop-1/cycle-2/report.md');
      const stored = gcs.buckets.get('tdl-reports')!.get('staging/nightly/loop-1/cycle-2/report.md')!;
      assert.deepEqual(stored.content, bytes);
      assert.equal(stored.contentType, 'text/markdown; charset=utf-8');
      assert.deepEqual(await store.read(url), bytes, 'the client validated the stand-in hashes and got the same bytes');
      assert.equal(artifactLink(url), 'https://storage.cloud.google.com/tdl-reports/staging/nightly/loop-1/cycle-2/report.md');
    });

    it('publishing again replaces the object (a retried step), and a missing object or bucket is a clear error', async function () {
      const { reportsDir, path } = reportIn('first');
      const store = createArtifactStore(reportsDir, { artifacts: 'gs://tdl-reports', endpoint: gcs.endpoint });
      await store.publish(path);
      writeFileSync(path, 'second');
      const url = await store.publish(path);
      assert.equal((await store.read(url)).toString(), 'second');
      await assert.rejects(store.read('gs://tdl-reports/loop-1/cycle-9/report.md'), (err: Error) => err instanceof ArtifactError && /cycle-9\/report\.md.*No such object/.test(err.message));
      const elsewhere = createArtifactStore(reportsDir, { artifacts: 'gs://no-such-bucket', endpoint: gcs.endpoint });
      await assert.rejects(elsewhere.publish(path), /bucket does not exist/);
    });

    it('names the setting that is wrong', function () {
      assert.throws(() => createArtifactStore(tempDir(), { artifacts: 's3://x/y' }), /TDL_ARTIFACTS: "s3:\/\/x\/y" is not a gs:\/\/BUCKET/);
      assert.throws(() => createArtifactStore(tempDir(), { artifacts: 'gs://B' }), /TDL_ARTIFACTS/);
      assert.throws(() => createArtifactStore(tempDir(), { artifacts: 'gs://ok-bucket', endpoint: 'localhost:1' }), /TDL_ARTIFACTS_ENDPOINT: "localhost:1"/);
    });
  });
});
