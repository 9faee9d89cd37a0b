import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhookSignature } from '../../activities/webhooks';
import { createLocalAssetStore } from '../../assets';
import type { WebhookEvent } from '../../common/messages';
import { smallStory } from '../helpers/stories';
import { eventually, startTestStack, waitForStage, type TestStack } from '../helpers/stack';

const SECRET = 'webhook-test-secret';
const received: Array<{ event: WebhookEvent; signatureValid: boolean }> = [];
let failuresLeft = 2;
let attempts = 0;
const receiver = http.createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    attempts++;
    // The receiver is down for its first two deliveries.
    if (failuresLeft > 0) {
      failuresLeft--;
      res.writeHead(503).end();
      return;
    }
    received.push({
      event: JSON.parse(body) as WebhookEvent,
      signatureValid: verifyWebhookSignature(SECRET, body, req.headers['x-reelflow-signature'] as string),
    });
    res.writeHead(204).end();
  });
});

let stack: TestStack;
beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const { port } = receiver.address() as AddressInfo;
  stack = await startTestStack({
    env: { REELFLOW_WEBHOOK_URLS: `http://127.0.0.1:${port}/hooks`, REELFLOW_WEBHOOK_SECRET: SECRET },
  });
});
afterAll(async () => {
  await stack?.close();
  await new Promise((resolve) => receiver.close(resolve));
});

test('story events arrive in order, signed, and a receiver that fails twice still gets them', async () => {
  await stack.client.start(smallStory({ shots: 1 }), { storyId: 'webhooks-1' });
  await waitForStage(stack, 'webhooks-1', 'awaiting-keyframe-review');
  await eventually(async () => (received.length >= 1 ? true : undefined), 60_000, 'the review event');
  await stack.client.reviewKeyframes('webhooks-1', { approve: true });
  expect((await stack.client.result('webhooks-1')).status).toBe('completed');
  await eventually(async () => (received.length >= 2 ? true : undefined), 60_000, 'the completed event');

  expect(received.map((r) => r.event.type)).toEqual(['story.needs-review', 'story.completed']);
  expect(received.every((r) => r.signatureValid)).toBe(true);
  expect(received[0].event).toMatchObject({ storyId: 'webhooks-1', review: { what: 'keyframes' } });
  // The video's URL is signed for a receiver without a token, for a week; the history keeps it unsigned.
  const video = new URL(received[1].event.video!);
  expect(video.pathname).toMatch(/^\/assets\/webhooks-1\/run-[0-9a-f]{8}\/output\/story\.mp4$/);
  const store = createLocalAssetStore({
    root: stack.config.assetsDir,
    publicBaseUrl: stack.config.http.publicUrl,
    secret: stack.config.api.signingSecret!,
  });
  const [exp, sig] = [video.searchParams.get('exp')!, video.searchParams.get('sig')!];
  expect(store.served!.check(decodeURIComponent(video.pathname.slice('/assets/'.length)), exp, sig)).toBe('valid');
  expect(Number(exp) - Date.now() / 1000).toBeGreaterThan(7 * 24 * 3600 - 300);
  const progress = await stack.client.progress('webhooks-1');
  expect(progress.output!.video.url).toBe(`${video.origin}${video.pathname}`);
  expect(new Set(received.map((r) => r.event.id)).size).toBe(2);
  expect(attempts).toBe(4);
});

test('a receiver that is down never holds the story open; the outbox delivers in order once it is back', async () => {
  received.length = 0;
  failuresLeft = Number.POSITIVE_INFINITY;
  await stack.client.start(smallStory({ shots: 1, review: { keyframes: false }, transition: { crossfade: 0 } }), {
    storyId: 'webhooks-down',
  });
  // The story is done as soon as its video is: nobody has taken a single event yet.
  expect((await stack.client.result('webhooks-down')).status).toBe('completed');
  expect(received).toHaveLength(0);
  const outbox = stack.temporal.workflow.getHandle('webhooks-down-webhooks');
  expect((await outbox.describe()).status.name).toBe('RUNNING');

  failuresLeft = 0;
  expect(await outbox.result()).toEqual({ delivered: 1, dropped: 0 });
  expect(received.map((r) => `${r.event.storyId} ${r.event.type}`)).toEqual(['webhooks-down story.completed']);
});
