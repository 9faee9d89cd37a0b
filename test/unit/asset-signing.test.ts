import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLocalAssetStore, ExpiringSigner, expiryFor } from '../../assets';

// Signed, expiring asset URLs: what the workers hand to Luma and what API answers carry; the HTTP server checks them.

const root = mkdtempSync(path.join(os.tmpdir(), 'asset-signing-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let now = Date.parse('2026-03-01T12:00:00Z');
const clock = () => now;
const store = (secret = 'asset-signing-secret') =>
  createLocalAssetStore({ root, publicBaseUrl: 'https://reelflow.example/', secret, now: clock });

function parts(url: string) {
  const u = new URL(url);
  return {
    rel: decodeURIComponent(u.pathname.replace(/^\/assets\//, '')),
    exp: u.searchParams.get('exp')!,
    sig: u.searchParams.get('sig')!,
  };
}

test('a signed URL names the file, carries exp and sig, and is valid for exactly its file until it expires', async () => {
  const ref = store().ref('story-1', 'run-ab12cd34/keyframes/b0-v1.png');
  expect(ref.url).toBe('https://reelflow.example/assets/story-1/run-ab12cd34/keyframes/b0-v1.png');
  const signed = await store().signUrl(ref.url, 3600);
  expect(signed).toMatch(
    /^https:\/\/reelflow\.example\/assets\/story-1\/run-ab12cd34\/keyframes\/b0-v1\.png\?exp=\d+&sig=[0-9a-f]{64}$/
  );
  const { rel, exp, sig } = parts(signed);
  const served = store().served!;
  expect(served.check(rel, exp, sig)).toBe('valid');
  expect(served.check('story-2/run-ab12cd34/keyframes/b0-v1.png', exp, sig)).toBe('bad-signature');
  expect(served.check(rel, String(Number(exp) + 1), sig)).toBe('bad-signature');
  expect(
    served.check(
      rel,
      exp,
      sig.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'))
    )
  ).toBe('bad-signature');
  expect(served.check(rel, exp, sig.toUpperCase())).toBe('valid');
  expect(served.check(rel, 'soon', sig)).toBe('bad-signature');
  expect(served.check(rel, exp, '')).toBe('bad-signature');
  expect(store('another-secret-entirely').served!.check(rel, exp, sig)).toBe('bad-signature');
  const before = now;
  now = Number(exp) * 1000;
  expect(served.check(rel, exp, sig)).toBe('expired');
  now = before;
});

test('a signature for one purpose is never valid for another under the same secret', () => {
  const review = new ExpiringSigner('shared-secret-value', 'review', clock);
  const asset = new ExpiringSigner('shared-secret-value', 'asset', clock);
  const exp = Math.floor(now / 1000) + 600;
  expect(asset.check('story-1', String(exp), review.sign('story-1', exp))).toBe('bad-signature');
  expect(review.check('story-1', String(exp), review.sign('story-1', exp))).toBe('valid');
});

test('an expiry is at least the lifetime away, at most a sixth (and never 10 minutes) more, and stable meanwhile', () => {
  const t = Math.floor(now / 1000);
  for (const ttl of [60, 3600, 24 * 3600, 7 * 24 * 3600]) {
    const exp = expiryFor(t, ttl);
    expect(exp - t).toBeGreaterThanOrEqual(ttl);
    expect(exp - t).toBeLessThanOrEqual(ttl + Math.min(600, ttl / 6));
  }
  // The review page asks every second: within one step it gets the very same URL.
  const step = 600;
  const start = Math.ceil(t / step) * step;
  expect(expiryFor(start + 1, 3600)).toBe(expiryFor(start + step - 1, 3600));
});

test('a URL signed before is signed anew; URLs of other servers and non-URLs come back unchanged', async () => {
  const ref = store().refForPath(path.join(root, 'story-1', 'run-1', 'output', 'story.mp4'));
  const first = await store().signUrl(ref.url, 60);
  now += 3600_000;
  const again = await store().signUrl(first, 60);
  expect(again.split('?')[0]).toBe(ref.url);
  expect(parts(again).exp).not.toBe(parts(first).exp);
  expect(store().served!.check(parts(again).rel, parts(again).exp, parts(again).sig)).toBe('valid');
  for (const other of ['https://cdn.example/assets/story-1/x.png', 'https://provider.example/a.mp4', 'a prompt']) {
    expect(await store().signUrl(other, 60)).toBe(other);
  }
});

test('names that could climb out of the store, and paths outside it, are refused', async () => {
  expect(() => store().ref('story-1', '../other/x.png')).toThrow(/unsafe asset name/);
  expect(() => store().ref('..', 'x.png')).toThrow(/unsafe asset name/);
  expect(() => store().ref('story-1', 'run-1//x.png')).toThrow(/unsafe asset name/);
  expect(() => store().refForPath('/etc/passwd')).toThrow(/not inside the asset store/);
  expect(store().find(path.join(root, 'story-1', 'x.png'))?.key).toBe('story-1/x.png');
  expect(store().find(path.join(root, '..', 'x.png'))).toBeUndefined();
  expect(store().find(root)).toBeUndefined();
  await expect(store().get('/etc/passwd', path.join(root, 'copy'))).rejects.toThrow(/not a file of the local/);
});
