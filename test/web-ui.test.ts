/**
 * The Temporal Web UI as users meet it, in a real browser (Debian's Chromium via playwright-core):
 * a loop started from the UI's Start Workflow page runs on our worker, and the workflow's User
 * Metadata tab shows its current details (phase, cycle, root causes).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { chromium, type Browser, type Page } from 'playwright-core';
import * as messages from '../src/workflows/messages';
import { loopInput, stagingDir } from './support/loop-input';
import { eventually, freePort, startTestServer, tempDir, workerPerTest } from './support/temporal';

const CHROMIUM = '/usr/bin/chromium';
/** Every browser wait is bounded; the UI answers in well under a second on a dev server. */
const WAIT_MS = 30_000;

describe('Temporal Web UI', function () {
  let uiPort: number;
  let browser: Browser | undefined;
  let page: Page;
  let handle: WorkflowHandle | undefined;

  // Registered before workerPerTest's hooks so it runs first: the loop ends while its worker still runs.
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && browser) {
      const shot = join(tempDir('tdl-web-ui-'), 'failure.png');
      await page.screenshot({ path: shot, fullPage: true });
      console.error(`web UI at failure: ${shot}`);
    }
    if (!handle) return;
    await handle.cancel();
    await handle.result().then(
      () => assert.fail('a cancelled loop does not succeed'),
      (err: unknown) => assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure, `expected cancellation, got ${err}`),
    );
    handle = undefined;
  });

  const { env, current } = workerPerTest(async () => startTestServer([], (uiPort = await freePort())));

  before(async function () {
    // A missing browser is a broken test machine, not a reason to skip the UI test.
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} not found: install Debian's Chromium with \`apt-get update && apt-get install -y chromium\` (npm test does this when run as root)`);
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage();
    page.setDefaultTimeout(WAIT_MS);
  });

  after(async function () {
    await browser?.close();
  });

  it('starts a loop from the Start Workflow page and shows its phase on the User Metadata tab', async function () {
    const ui = `http://127.0.0.1:${uiPort}/namespaces/default/workflows`;
    const workflowId = `ui-loop-${randomUUID()}`;
    const start = new URL(`${ui}/start-workflow`);
    start.search = new URLSearchParams({ workflowId, taskQueue: current().taskQueue, workflowType: messages.WORKFLOW_TYPE }).toString();
    await page.goto(start.href);

    const editor = page.locator('.cm-content[contenteditable="true"]');
    const input = loopInput(stagingDir());
    await editor.fill(JSON.stringify(input, null, 2));
    // The editor reformats its JSON on blur, which moves the button; blur first so the click lands,
    // and start only once the editor holds exactly the input (a busy machine reformats slowly).
    await editor.blur();
    await eventually(async () => (isDeepStrictEqual(JSON.parse(await editor.innerText()), input) ? true : undefined), 'the editor to hold the input');
    await page.click('[data-testid="start-workflow-button"]');
    // The visible toast is a link to the new run (the live region for screen readers repeats the text).
    const toast = page.getByRole('link', { name: 'Workflow started successfully' });
    await toast.waitFor();
    assert.match((await toast.getAttribute('href')) ?? '', new RegExp(`/workflows/${workflowId}/`));

    handle = env().client.workflow.getHandle(workflowId);
    const description = await handle.describe();
    assert.equal(description.type, messages.WORKFLOW_TYPE);
    assert.equal(description.taskQueue, current().taskQueue);
    const status = await eventually(async () => {
      const s = await handle!.query(messages.status);
      return s.phase === 'awaiting-fix' ? s : undefined;
    }, 'the loop started from the UI to await a fix').catch(async (err: Error) => {
      // Say why the loop ended, if it did: the input the UI sent and the failure it met.
      const running = (await handle!.describe()).status.name === 'RUNNING';
      const ended = running
        ? 'is still running'
        : await handle!.result().then(
            (r) => `completed: ${JSON.stringify(r)}`,
            (e: Error & { cause?: Error }) => `failed: ${e.cause?.message ?? e.message}`,
          );
      const history = await handle!.fetchHistory();
      const sent = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
      throw new Error(`${err.message}; the loop ${ended}; input sent: ${sent ? Buffer.from(sent).toString() : 'none'}`);
    });
    assert.equal(status.lastRun?.failed, 24);

    await page.goto(`${ui}/${workflowId}`);
    await page.click('[data-testid="user-metadata-tab"]');
    const details = page.frameLocator('iframe#user-metadata-current-details');
    await details.getByText('awaiting-fix', { exact: true }).waitFor();
    const text = await details.locator('body').innerText();
    assert.match(text, /awaiting-fix, cycle 1 of 5/);
    assert.match(text, /24 failed/);

    // Proof that a real page was rendered, kept for anyone debugging the UI.
    const shot = join(tempDir('tdl-web-ui-'), 'user-metadata.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.deepEqual(readFileSync(shot).subarray(1, 4).toString(), 'PNG');
  });
});
