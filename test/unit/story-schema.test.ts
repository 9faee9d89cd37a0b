import { parseStory, keyframePrompt } from '../../common/story';
import { ValidationError } from '../../common/validation';
import { estimateStory, DEFAULT_PRICES, videoCredits } from '../../common/pricing';
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
  expect(issuesOf(long)['shots[1].description']).toBe('with the style the prompt is 5502 characters; Luma allows 5000');
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
