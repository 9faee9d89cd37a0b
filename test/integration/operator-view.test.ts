import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startTemporalDevServer, type RunningTemporal } from '../../dev/temporal-server';
import { launchChromium } from '../helpers/browser';
import { startTestStack, waitForStage, type TestStack } from '../helpers/stack';
import { smallStory } from '../helpers/stories';

// What an operator sees in the Temporal Web UI: a dev server of its own with the UI on (the shared test server is
// headless), two stories (one finished, one waiting for its keyframe review), the run's summary and details, its
// current details, and the summaries of its activities, timers and children. Takes the screenshots that
// docs/operations.md shows (into docs/images/ with UPDATE_DOCS_SCREENSHOTS=1, else test-artifacts/screenshots/).

const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts');
// The screenshots docs/operations.md shows; a normal run leaves the checked-in ones alone.
const IMAGES = process.env.UPDATE_DOCS_SCREENSHOTS
  ? path.resolve(__dirname, '../../docs/images')
  : path.join(ARTIFACTS, 'screenshots');

let temporal: RunningTemporal;
let stack: TestStack;
let browser: Browser;
let client: Client;
let nativeConnection: NativeConnection;

beforeAll(async () => {
  mkdirSync(IMAGES, { recursive: true });
  temporal = await startTemporalDevServer({
    cliPath: process.env.TEMPORAL_CLI_PATH,
    logFile: path.join(ARTIFACTS, 'temporal-ui.log'),
  });
  client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
  nativeConnection = await NativeConnection.connect({ address: temporal.address });
  [stack, browser] = await Promise.all([
    startTestStack({
      temporal: { client, nativeConnection, address: temporal.address },
      env: { TEMPORAL_UI_URL: temporal.uiUrl!, REELFLOW_TASK_QUEUE_PREFIX: 'reelflow' },
    }),
    launchChromium('Web UI test'),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await nativeConnection?.close();
  await client?.connection.close();
  await temporal?.stop();
});

/** Opens a page of the Web UI and waits until it has rendered `text`. */
async function open(page: Page, url: string, text: string): Promise<void> {
  await page.goto(url);
  await page.getByText(text, { exact: false }).first().waitFor({ timeout: 30_000 });
  // The UI keeps polling (so the network never goes idle): give its panels a moment to draw before a screenshot.
  await page.waitForTimeout(2000);
}

/** Opens a run's timeline and waits until it shows `text`. */
async function timeline(page: Page, url: string, text: string): Promise<void> {
  await page.setViewportSize({ width: 1440, height: 1500 });
  await open(page, url, 'Timeline');
  await shows(page, text);
}

/** The part of the page from the heading `name` down, `height` px tall (the run's input and result left out). */
async function below(page: Page, name: string, height: number) {
  const box = (await page.getByRole('heading', { name, exact: true }).boundingBox())!;
  return { x: 250, y: box.y - 16, width: 1190, height };
}

/** Waits until the page, or one of its frames (the UI renders Markdown in sandboxed frames), shows `text`. */
async function shows(page: Page, text: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const texts = await Promise.all(
      page.frames().map((f) => f.evaluate(() => document.body?.innerText ?? '').catch(() => ''))
    );
    if (texts.some((t) => t.replace(/\s+/g, ' ').includes(text))) return;
    if (Date.now() > deadline) throw new Error(`the Web UI never showed '${text}'`);
    await page.waitForTimeout(250);
  }
}

test('the Web UI shows each story with its summary, current details and the summary of every step', async () => {
  // A finished story, so its history holds every kind of step.
  await stack.client.start(
    smallStory({ title: 'Product launch', shots: 3, review: { keyframes: true, timeout: '72h' } }),
    { storyId: 'launch-42' }
  );
  const atReview = await waitForStage(stack, 'launch-42', 'awaiting-keyframe-review');
  await stack.client.reviewKeyframes('launch-42', {
    picks: atReview.keyframes.map((k) => ({ boundary: k.boundary, variation: 0 })),
    approve: true,
  });
  expect((await stack.client.result('launch-42')).status).toBe('completed');
  // One waiting for its keyframe review, as stories do for days.
  await stack.client.start(smallStory({ title: 'Spring teaser', shots: 2, budgetCredits: 40 }), {
    storyId: 'teaser-7',
  });
  await waitForStage(stack, 'teaser-7', 'awaiting-keyframe-review');

  // What the UI reads: the run's fixed summary and details, and the current details the workflow keeps.
  const waiting = await stack.temporal.workflow.getHandle('teaser-7').describe();
  await expect(waiting.staticSummary()).resolves.toBe('Spring teaser · 2 shots · parallel');
  await expect(waiting.staticDetails()).resolves.toMatch(/\*\*Estimate:\*\* [\d.]+ credits/);
  await expect(waiting.staticDetails()).resolves.toContain('**Budget:** 40 credits');
  const metadata = (await stack.temporal.workflow.getHandle('teaser-7').query('__temporal_workflow_metadata')) as {
    currentDetails?: string;
  };
  expect(metadata.currentDetails).toContain('**Stage:** Waiting for a keyframe review');
  expect(metadata.currentDetails).toMatch(/\*\*Waiting for:\*\* keyframe review of round 1 \(reviewKeyframes\)/);

  // Every activity, timer and child of the finished story carries a summary.
  const history = await stack.temporal.workflow.getHandle('launch-42').fetchHistory();
  const kinds = ['activityTaskScheduledEventAttributes', 'timerStartedEventAttributes'] as const;
  const steps = (history.events ?? []).filter(
    (e) => kinds.some((k) => e[k]) || e.startChildWorkflowExecutionInitiatedEventAttributes
  );
  expect(steps.length).toBeGreaterThan(4);
  expect(steps.filter((e) => !e.userMetadata?.summary)).toEqual([]);

  const page = await (await browser.newContext({ viewport: { width: 1680, height: 800 } })).newPage();
  const ui = `${temporal.uiUrl}/namespaces/default`;
  // The list, with reelflow's stage, credits and shots as columns in place of the run id and times (the Web UI offers every
  // search attribute as a column).
  await open(page, `${ui}/workflows`, 'teaser-7');
  await page.getByTestId('workflows-summary-table-configuration-button').click();
  for (const column of ['Run ID', 'Start', 'End']) await page.getByLabel(`Remove ${column} column`).click();
  for (const column of ['ReelflowStage', 'ReelflowShotCount', 'ReelflowCreditsUsed']) {
    await page.getByLabel(`Add ${column} column`).click();
  }
  await page.getByTestId('drawer-close-button').click();
  await page.getByRole('columnheader', { name: 'ReelflowStage' }).waitFor({ timeout: 10_000 });
  await shows(page, 'awaiting-keyframe-review');
  await page.waitForTimeout(1000);
  await page.screenshot({ path: path.join(IMAGES, 'temporal-ui-list.png') });

  // The waiting story's summary, details and current details (what it waits for).
  await page.setViewportSize({ width: 1440, height: 780 });
  await open(page, `${ui}/workflows/teaser-7/${waiting.runId}/user-metadata`, 'Current Details');
  await shows(page, 'Waiting for: keyframe review of round 1 (reviewKeyframes)');
  await shows(page, 'Spring teaser · 2 shots · parallel');
  await shows(page, 'Budget: 40 credits (2.00 USD), then fail');
  await page.screenshot({ path: path.join(IMAGES, 'temporal-ui-story.png') });

  // The finished story's steps on its timeline, each with its summary: the story's, then one clip attempt's.
  const finished = await stack.temporal.workflow.getHandle('launch-42').describe();
  await timeline(page, `${ui}/workflows/launch-42/${finished.runId}/timeline`, 'stitch 3 clips · cross-fade 0.5 s');
  await page.screenshot({
    path: path.join(IMAGES, 'temporal-ui-story-steps.png'),
    clip: await below(page, 'Timeline', 560),
  });
  const clip = await stack.temporal.workflow.getHandle('launch-42-shot-2-attempt-1').describe();
  await timeline(page, `${ui}/workflows/launch-42-shot-2-attempt-1/${clip.runId}/timeline`, 'shot 2 · submit clip');
  await page.screenshot({
    path: path.join(IMAGES, 'temporal-ui-clip-steps.png'),
    clip: await below(page, 'Timeline', 360),
  });
});
