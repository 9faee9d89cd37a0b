import { parseStory, keyframePrompt, shotRoute } from '../../common/story';
import { ValidationError } from '../../common/validation';
import {
  clipCredits,
  clipDollars,
  estimateStory,
  DEFAULT_PRICES,
  mergePrices,
  videoCredits,
} from '../../common/pricing';
import { frameSize } from '../../common/frame-size';
import { durationMs } from '../../common/duration';
import { storyFiles } from '../../common/progress';

const minimal = { title: 'T', shots: [{ description: 'a phone on a table' }, { description: 'a hand lifts it' }] };

function issuesOf(story: unknown): Record<string, string> {
  try {
    parseStory(story);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return Object.fromEntries((err as ValidationError).issues.map((i) => [i.field, i.message]));
  }
  throw new Error('expected the story to be refused');
}

test('a minimal story gets every documented default', () => {
  const spec = parseStory(minimal);
  expect(spec).toMatchObject({
    aspectRatio: '16:9',
    resolution: '720p',
    videoModel: 'ray-3-14',
    imageModel: 'photon-1',
    mode: 'parallel',
    variations: 3,
    review: { keyframes: true, clips: false, timeout: '72h', onTimeout: 'fail' },
    transition: { crossfade: 0.5 },
    maxParallelShots: 5,
    onBudgetExceeded: 'fail',
  });
  expect(spec.shots.map((s) => s.duration)).toEqual([5, 5]);
});

test('errors name the field and the reason', () => {
  const issues = issuesOf({
    title: '',
    aspectRatio: '2:1',
    resolution: '8k',
    variations: 9,
    shots: [{ description: 'ok shot', duration: 7 }],
    extra: true,
  });
  expect(Object.keys(issues).sort()).toEqual(
    ['(root)', 'aspectRatio', 'resolution', 'shots[0].duration', 'title', 'variations'].sort()
  );
  expect(issues['shots[0].duration']).toMatch(/5 or 9/);
  expect(issuesOf({ ...minimal, keyframes: ['a.png'] }).keyframes).toMatch(/3 entries/);
});

test('a story needs 1..50 shots and a cross-fade shorter than every shot', () => {
  expect(issuesOf({ title: 'T', shots: [] }).shots).toMatch(/at least 1/);
  expect(issuesOf({ ...minimal, transition: { crossfade: 5 } })['transition.crossfade']).toBeDefined();
});

test('a shot whose prompt with the style passes 5000 characters is refused, not cut short', () => {
  const long = {
    title: 'T',
    style: 's'.repeat(1000),
    shots: [{ description: 'ok shot' }, { description: 'd'.repeat(4500) }],
  };
  expect(issuesOf(long)['shots[1].description']).toBe(
    'with the style the prompt is 5502 characters; ray-3-14 allows 5000'
  );
  // Right at the limit it still fits.
  expect(() => parseStory({ ...long, shots: [{ description: 'd'.repeat(3998) }] })).not.toThrow();
});

test('keyframe prompts combine the style with the shots they bound', () => {
  const spec = parseStory({ ...minimal, style: 'noir' });
  expect(keyframePrompt(spec, 0)).toBe('noir. Opening frame: a phone on a table');
  expect(keyframePrompt(spec, 1)).toContain('Transition from "a phone on a table" to "a hand lifts it"');
  expect(keyframePrompt(spec, 2)).toBe('noir. Closing frame: a hand lifts it');
});

test('the estimate counts every variation and one start+end clip per shot', () => {
  const spec = parseStory({ ...minimal, variations: 3 });
  const estimate = estimateStory(spec);
  expect(estimate.keyframeImages).toBe(9);
  expect(estimate.videoCredits).toBe(6);
  expect(estimate.credits).toBeCloseTo(9 * 0.8 + 6, 6);
  expect(estimate.dollars).toBeCloseTo(estimate.credits * DEFAULT_PRICES.dollarsPerCredit, 6);
  const supplied = estimateStory(parseStory({ ...minimal, keyframes: ['a.png', null, 'b.png'] }));
  expect(supplied.keyframeImages).toBe(3);
});

test('longer clips cost per started 5 seconds', () => {
  const base = { resolution: '720p', frame0: true, frame1: true };
  expect(videoCredits(DEFAULT_PRICES, { ...base, durationSeconds: 5 })).toBe(3);
  expect(videoCredits(DEFAULT_PRICES, { ...base, durationSeconds: 9 })).toBe(6);
  expect(videoCredits(DEFAULT_PRICES, { ...base, frame1: false, durationSeconds: 5 })).toBe(2);
});

test('frame sizes follow the resolution and aspect ratio with even sides', () => {
  expect(frameSize('16:9', '540p')).toEqual({ width: 960, height: 540 });
  expect(frameSize('9:16', '540p')).toEqual({ width: 540, height: 960 });
  expect(frameSize('1:1', '540p')).toEqual({ width: 540, height: 540 });
  expect(frameSize('21:9', '720p')).toEqual({ width: 1680, height: 720 });
});

test('durations parse and bad ones are refused', () => {
  expect(durationMs('72h')).toBe(72 * 3600_000);
  expect(durationMs('90s')).toBe(90_000);
  expect(() => durationMs('soon')).toThrow(/not a duration/);
});

test("each shot is checked against its model's capabilities, naming the field to change", () => {
  const kling = (extra: object) => ({ ...minimal, videoModel: 'kling-2.5-turbo-pro', ...extra });
  // The issue's example: a 9 s shot on a model that makes only 5 and 10 s clips.
  const issues = issuesOf(
    kling({ shots: [{ description: 'a phone' }, { description: 'a hand' }, { description: 'a thumb', duration: 9 }] })
  );
  expect(issues).toEqual({ 'shots[2].duration': 'must be 5 or 10 (seconds) on kling-2.5-turbo-pro' });
  // A shot's own model decides for that shot; story-wide settings are refused at the field that chose the model.
  expect(
    issuesOf({
      ...minimal,
      aspectRatio: '21:9',
      shots: [{ description: 'ok shot', videoModel: 'veo-3.1-fast', duration: 8 }],
    })
  ).toEqual({
    'shots[0].videoModel': expect.stringMatching(/^veo-3.1-fast cannot make 21:9 clips \(it makes 16:9 or 9:16\)/),
  });
  expect(
    issuesOf(kling({ resolution: '540p', videoModel: 'veo-3.1-fast', shots: [{ description: 'x y z', duration: 4 }] }))
  ).toEqual({
    videoModel: expect.stringMatching(/^veo-3.1-fast cannot make 540p clips/),
  });
  expect(issuesOf(kling({ shots: [{ description: 'x'.repeat(2600) }] }))['shots[0].description']).toMatch(
    /allows 2500/
  );
  expect(parseStory(kling({})).shots.map((s) => s.duration)).toEqual([5, 5]);
});

test('a fallback must be another provider, and must be able to make the shot too', () => {
  expect(issuesOf({ ...minimal, fallbackVideoModel: 'ray-2' }).fallbackVideoModel).toMatch(/another provider/);
  expect(issuesOf({ ...minimal, fallbackVideoModel: 'veo-3.1-fast' })['shots[0].duration']).toBe(
    'must be 4, 6 or 8 (seconds) on its fallback veo-3.1-fast'
  );
  const spec = parseStory({
    ...minimal,
    fallbackVideoModel: 'kling-2.5-turbo-pro',
    shots: [{ description: 'a phone' }, { description: 'a hand', videoModel: 'kling-2.5-turbo-pro' }],
  });
  expect(shotRoute(spec, 0)).toMatchObject({
    model: 'ray-3-14',
    provider: 'luma',
    fallback: { model: 'kling-2.5-turbo-pro' },
  });
  // The story's fallback does not apply to a shot on the fallback's own provider.
  expect(shotRoute(spec, 1).fallback).toBeUndefined();
});

test('the estimate prices each shot on its model and breaks the total down by provider', () => {
  const spec = parseStory({
    ...minimal,
    variations: 1,
    shots: [{ description: 'a phone' }, { description: 'a hand', videoModel: 'kling-2.5-turbo-pro', duration: 10 }],
  });
  const estimate = estimateStory(spec);
  // 3 images at 0.8 and one 3-credit Ray clip; Kling 10 s is $0.35 + 5 × $0.07 = $0.70 = 14 credits at $0.05.
  expect(estimate.byProvider).toEqual([
    { provider: 'luma', keyframeImages: 3, clips: 1, credits: 5.4, dollars: 0.27 },
    { provider: 'fal', keyframeImages: 0, clips: 1, credits: 14, dollars: 0.7 },
  ]);
  expect(estimate.credits).toBeCloseTo(19.4, 6);
  expect(
    clipDollars(DEFAULT_PRICES, 'veo-3.1-fast', { durationSeconds: 8, resolution: '4k', frame0: true, frame1: true })
  ).toBeCloseTo(2.4, 6);
  const cheaper = mergePrices(DEFAULT_PRICES, { dollars: { 'kling-2.5-turbo-pro': { first: 0.3 } } });
  expect(
    clipCredits(cheaper, 'kling-2.5-turbo-pro', { durationSeconds: 5, resolution: '720p', frame0: true, frame1: true })
  ).toBe(6);
  expect(() => mergePrices(DEFAULT_PRICES, { dollars: { 'no-such-model': { first: 1 } } })).toThrow(/no such model/);
});

describe('story output schema', () => {
  const file = (name: string) => ({ path: `/data/${name}`, url: `http://x/${name}` });
  const output = {
    video: file('story.mp4'),
    poster: file('poster.jpg'),
    storyboard: file('sb.png'),
    durationSeconds: 14,
  };

  test('parses an output from before the stitch was recorded, and one that says how it was stitched', () => {
    expect(storyFiles.output.parse(output)).toEqual(output);
    const stitched = { ...output, stitch: { method: 'smart-crossfade', reencodedSeconds: 2.04 } };
    expect(storyFiles.output.parse(stitched)).toEqual(stitched);
    const fallback = { method: 'full-crossfade', reencodedSeconds: 14, fallbackReason: 'too few keyframes' };
    expect(storyFiles.output.parse({ ...output, stitch: fallback }).stitch).toEqual(fallback);
  });

  test('refuses an unknown stitch method', () => {
    const bad = { ...output, stitch: { method: 'magic', reencodedSeconds: 0 } };
    expect(storyFiles.output.safeParse(bad).success).toBe(false);
  });
});
