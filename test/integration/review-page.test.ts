import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { storyCreatedSchema, storyProgressSchema } from '../../server/api/schemas';
import { launchChromium } from '../helpers/browser';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';
import { smallStory } from '../helpers/stories';

// The review page in headless Chromium, at phone width, against a whole test deployment: a reviewer opens a signed
// link, picks variations, approves, and watches the story finish and the final video play.

const BACKEND = 'page-backend';
const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts');

let stack: TestStack;
let browser: Browser;

beforeAll(async () => {
  [stack, browser] = await Promise.all([
    startTestStack({
      env: { REELFLOW_API_TOKENS: `${BACKEND}:backend`, REELFLOW_SIGNING_SECRET: 'review-page-test-secret' },
    }),
    launchChromium('review page test'),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

async function api(method: string, route: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(stack.config.http.publicUrl + route, {
    method,
    headers: {
      authorization: `Bearer ${BACKEND}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

test('a reviewer picks variations and approves on the page at phone width, then watches the video finish', async () => {
  const id = 'page-story';
  // Its second shot is made by Kling on fal: the page says which model and provider made each clip.
  const story = smallStory({ title: 'Launch teaser', variations: 2 });
  story.shots[1] = { ...story.shots[1], videoModel: 'kling-2.5-turbo-pro' };
  const created = await api('POST', '/v1/stories', { id, story });
  expect(created.status).toBe(201);
  const link = storyCreatedSchema.parse(created.body).links.review!;
  await eventually(
    async () => {
      const p = storyProgressSchema.parse((await api('GET', `/v1/stories/${id}`)).body);
      return p.stage === 'awaiting-keyframe-review' ? p : undefined;
    },
    90_000,
    'keyframe review'
  );

  const context = await browser.newContext({ viewport: { width: 375, height: 800 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const outside: string[] = [];
  const origin = new URL(stack.config.http.publicUrl).origin;
  page.on('request', (r) => {
    if (!r.url().startsWith(origin) && !r.url().startsWith('data:')) outside.push(r.url());
  });
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });

  await page.goto(link);
  await page.locator('#stage[data-stage="awaiting-keyframe-review"]').waitFor({ timeout: 15_000 });
  await expect(page.title()).resolves.toContain('Launch teaser');

  // Three boundaries, two variations each, every picture loaded and every control labelled.
  const radios = page.locator('input[type=radio]');
  await expect(radios.count()).resolves.toBe(6);
  await page.waitForFunction(() =>
    Array.from(document.querySelectorAll<HTMLImageElement>('.variation img')).every(
      (i) => i.complete && i.naturalWidth > 0
    )
  );
  const unlabelled = await page.evaluate(
    () =>
      Array.from(document.querySelectorAll<HTMLInputElement | HTMLTextAreaElement>('input, textarea')).filter(
        (el) => !el.labels || el.labels.length === 0
      ).length
  );
  expect(unlabelled).toBe(0);
  await expect(page.locator('img:not([alt])').count()).resolves.toBe(0);
  // Nothing wider than a phone: no sideways scrolling.
  await expect(page.evaluate(() => document.documentElement.scrollWidth)).resolves.toBeLessThanOrEqual(375);

  // Pick the second variation of the middle frame with the mouse, and of the closing frame with the keyboard.
  await page.locator('label[for="kf-1-1"]').click();
  await expect(page.locator('#kf-1-1').isChecked()).resolves.toBe(true);
  await page.locator('#kf-2-0').focus();
  await page.keyboard.press('ArrowRight');
  await expect(page.locator('#kf-2-1').isChecked()).resolves.toBe(true);
  // The focus ring is visible where the keyboard is.
  const outline = await page.evaluate(() => {
    const label = document.querySelector('label[for="kf-2-1"]')!;
    return getComputedStyle(label).outlineStyle;
  });
  expect(outline).not.toBe('none');

  // A poll re-renders nothing the reviewer is working on: the choice survives a couple of poll cycles.
  await page.waitForTimeout(2200);
  await expect(page.locator('#kf-1-1').isChecked()).resolves.toBe(true);

  // Ask for new variations of the opening frame with an edited prompt; the picks made so far go along with it.
  await page.locator('#boundary-0 summary').click();
  await page.locator('#prompt-0').fill('photorealistic, soft light. Opening frame: a phone on a marble table at dawn');
  await page.locator('#regenerate-0').click();
  await page.locator('#boundary-0 legend', { hasText: 'round 2' }).waitFor({ timeout: 30_000 });
  await page.locator('#stage[data-stage="awaiting-keyframe-review"]').waitFor({ timeout: 30_000 });
  await expect(page.locator('#boundary-0 .prompt').textContent()).resolves.toContain('at dawn');
  await expect(page.locator('#kf-1-1').isChecked()).resolves.toBe(true);
  await page.locator('label[for="kf-0-3"]').click();

  await page.locator('#approve-keyframes').click();
  await page.locator('#shots').waitFor({ state: 'visible', timeout: 30_000 });

  await page.locator('#stage[data-stage="completed"]').waitFor({ timeout: 150_000 });
  const progress = storyProgressSchema.parse((await api('GET', `/v1/stories/${id}`)).body);
  expect(progress.keyframes.map((k) => k.picked)).toEqual([3, 1, 1]);
  expect(progress.keyframes[0].round).toBe(2);
  await expect(page.locator('#approve-keyframes').isVisible()).resolves.toBe(false);

  const video = page.locator('#final-video');
  await video.waitFor({ state: 'visible' });
  const media = await video.evaluate(async (el: HTMLVideoElement) => {
    el.muted = true;
    if (el.readyState < 2) {
      await new Promise<void>((resolve, reject) => {
        el.addEventListener('loadeddata', () => resolve(), { once: true });
        el.addEventListener('error', () => reject(new Error(`media error ${el.error?.code}`)), { once: true });
        el.load();
      });
    }
    await el.play();
    await new Promise((r) => setTimeout(r, 300));
    return { readyState: el.readyState, duration: el.duration, currentTime: el.currentTime, src: el.currentSrc };
  });
  expect(media.readyState).toBeGreaterThanOrEqual(2);
  expect(media.duration).toBeGreaterThan(5);
  expect(media.currentTime).toBeGreaterThan(0);
  expect(media.src).toMatch(new RegExp(`^${origin}/assets/${id}/`));
  await expect(page.locator('#shot-list > li').count()).resolves.toBe(2);
  await expect(page.locator('#shot-0-model').textContent()).resolves.toBe('Model: ray-3-14 (luma)');
  await expect(page.locator('#shot-1-model').textContent()).resolves.toBe('Model: kling-2.5-turbo-pro (fal)');

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'review-page.png'), fullPage: true });
  expect(outside).toEqual([]);
  expect(consoleErrors).toEqual([]);
  await context.close();
});

test('a tampered link shows a refusal page with 403', async () => {
  const id = 'page-refused';
  const created = await api('POST', '/v1/stories', { id, story: smallStory({ title: 'Refused' }) });
  const link = new URL(storyCreatedSchema.parse(created.body).links.review!);
  const sig = link.searchParams.get('sig')!;
  link.searchParams.set('sig', (sig[0] === '0' ? '1' : '0') + sig.slice(1));
  const page = await browser.newPage();
  const answer = await page.goto(link.toString());
  expect(answer?.status()).toBe(403);
  await expect(page.locator('h1').textContent()).resolves.toBe('Link not valid');
  await page.close();
  await api('POST', `/v1/stories/${id}/cancel`);
});
