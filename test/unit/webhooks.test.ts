import { MockActivityEnvironment } from '@temporalio/testing';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWebhookActivities, signWebhookBody, verifyWebhookSignature } from '../../activities/webhooks';
import type { WebhookEvent } from '../../common/messages';

// notifyWebhooks against a real local receiver: signature, failure → throw (Temporal retries), and a retry that only
// goes to the receivers still missing the event.

interface Delivery {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A receiver on loopback; `status(path)` decides each answer. */
async function receiver(status: (path: string, n: number) => number = () => 204) {
  const deliveries: Delivery[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      deliveries.push({ path: req.url ?? '', headers: req.headers, body });
      res.statusCode = status(req.url ?? '', deliveries.filter((d) => d.path === req.url).length);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, deliveries, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const event: WebhookEvent = {
  id: 'story-1:story.completed:1',
  type: 'story.completed',
  storyId: 'story-1',
  at: '2026-01-01T00:00:00.000Z',
  video: 'http://h/assets/story-1/final.mp4',
};

test('each URL gets the event as JSON, signed with HMAC-SHA256 over the raw body', async () => {
  const r = await receiver();
  try {
    const { notifyWebhooks } = createWebhookActivities({ urls: [`${r.base}/a`, `${r.base}/b`], secret: 'whsec' });
    await expect(new MockActivityEnvironment().run(notifyWebhooks, event)).resolves.toEqual({ delivered: 2 });
    expect(r.deliveries.map((d) => d.path).sort()).toEqual(['/a', '/b']);
    for (const d of r.deliveries) {
      expect(JSON.parse(d.body)).toEqual(event);
      expect(d.headers['content-type']).toBe('application/json');
      expect(d.headers['x-reelflow-event-id']).toBe(event.id);
      expect(d.headers['x-reelflow-signature']).toBe(signWebhookBody('whsec', d.body));
      expect(verifyWebhookSignature('whsec', d.body, d.headers['x-reelflow-signature'] as string)).toBe(true);
      expect(verifyWebhookSignature('other', d.body, d.headers['x-reelflow-signature'] as string)).toBe(false);
      expect(verifyWebhookSignature('whsec', `${d.body} `, d.headers['x-reelflow-signature'] as string)).toBe(false);
    }
  } finally {
    await r.close();
  }
});

test('a non-2xx answer throws so Temporal retries; the retry skips URLs that already took the event', async () => {
  // /flaky fails on its first delivery only.
  const r = await receiver((path, n) => (path === '/flaky' && n === 1 ? 503 : 200));
  try {
    const { notifyWebhooks } = createWebhookActivities({ urls: [`${r.base}/ok`, `${r.base}/flaky`], secret: 's' });
    const first = new MockActivityEnvironment();
    const heartbeats: unknown[] = [];
    first.on('heartbeat', (d: unknown) => heartbeats.push(d));
    await expect(first.run(notifyWebhooks, event)).rejects.toThrow(/flaky: HTTP 503/);
    expect(heartbeats.at(-1)).toEqual({ delivered: [`${r.base}/ok`] });

    // The next attempt starts from the last heartbeat, as Temporal hands it over.
    const retry = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: heartbeats.at(-1) });
    await expect(retry.run(notifyWebhooks, event)).resolves.toEqual({ delivered: 2 });
    expect(r.deliveries.map((d) => d.path)).toEqual(['/ok', '/flaky', '/flaky']);
  } finally {
    await r.close();
  }
});

test('redirects are not followed, unreachable receivers and timeouts throw, and no URLs is a no-op', async () => {
  const r = await receiver((path) => (path === '/moved' ? 302 : 200));
  try {
    const moved = createWebhookActivities({ urls: [`${r.base}/moved`] });
    await expect(new MockActivityEnvironment().run(moved.notifyWebhooks, event)).rejects.toThrow(/HTTP 302/);
    expect(r.deliveries[0].headers['x-reelflow-signature']).toBeUndefined();
  } finally {
    await r.close();
  }
  const down = createWebhookActivities({ urls: [r.base] });
  await expect(new MockActivityEnvironment().run(down.notifyWebhooks, event)).rejects.toThrow(/not delivered/);

  const never = http.createServer(() => undefined);
  await new Promise<void>((resolve) => never.listen(0, '127.0.0.1', resolve));
  try {
    const slow = createWebhookActivities({
      urls: [`http://127.0.0.1:${(never.address() as AddressInfo).port}`],
      timeoutMs: 200,
    });
    await expect(new MockActivityEnvironment().run(slow.notifyWebhooks, event)).rejects.toThrow(/not delivered/);
  } finally {
    never.closeAllConnections();
    never.close();
  }
  await expect(createWebhookActivities({ urls: [] }).notifyWebhooks(event)).resolves.toEqual({ delivered: 0 });
});
