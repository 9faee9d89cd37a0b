import { isSameRequest } from '../../providers/luma';

const sent = {
  prompt: 'a phone on a table',
  model: 'ray-3-14',
  keyframes: { frame0: { type: 'image', url: 'http://a/0.png' }, frame1: { type: 'image', url: 'http://a/1.png' } },
  callback_url: 'http://us/v1/luma/callback?key=s%2Fshot%2F1%2Fattempt%2F1',
};

test('an echoed callback URL alone decides: it carries the attempt key', () => {
  expect(isSameRequest({ ...sent }, sent)).toBe(true);
  // The same prompt and frames from another attempt is another generation.
  expect(isSameRequest({ ...sent, callback_url: sent.callback_url.replace('attempt%2F1', 'attempt%2F2') }, sent)).toBe(
    false
  );
});

test('without an echoed callback URL, prompt, model and keyframes must all match', () => {
  const echo: Record<string, unknown> = { prompt: sent.prompt, model: sent.model, keyframes: sent.keyframes };
  expect(isSameRequest(echo, sent)).toBe(true);
  expect(isSameRequest({ ...echo, prompt: 'another prompt' }, sent)).toBe(false);
  expect(isSameRequest({ ...echo, keyframes: { frame0: sent.keyframes.frame0 } }, sent)).toBe(false);
  expect(isSameRequest(undefined, sent)).toBe(false);
});

test('keyframe URLs are compared without their signature: every attempt signs them anew', () => {
  const signed = (url: string, exp: number) => `${url}?exp=${exp}&sig=${'ab'.repeat(32)}`;
  const frames = (exp: number) => ({
    frame0: { type: 'image', url: signed('http://a/0.png', exp) },
    frame1: { type: 'image', url: signed('http://a/1.png', exp) },
  });
  const retried = { ...sent, keyframes: frames(2000) };
  const echo = { prompt: sent.prompt, model: sent.model, keyframes: frames(1000) };
  expect(isSameRequest(echo, retried)).toBe(true);
  const otherFile = {
    ...echo,
    keyframes: { ...frames(1000), frame1: { type: 'image', url: signed('http://a/2.png', 1) } },
  };
  expect(isSameRequest(otherFile, retried)).toBe(false);
});
