import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { extractFrame, probeMedia } from '../../activities/ffmpeg';
import { imageDiff } from '../../activities/images';
import { getStats } from '../../emulator/admin';
import type { StoryInputForTests } from '../helpers/stories';
import { expectPaidOnceAndCounted } from '../helpers/ledger';
import { smallStory } from '../helpers/stories';
import { startTestStack, waitForStage, type TestStack } from '../helpers/stack';

let stack: TestStack;
const scratch = mkdtempSync(path.join(os.tmpdir(), 'reelflow-frames-'));

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.close();
  rmSync(scratch, { recursive: true, force: true });
});

async function runApproved(
  story: StoryInputForTests,
  storyId: string,
  picks: Array<{ boundary: number; variation: number }>
) {
  await stack.client.start(story, { storyId });
  const before = await waitForStage(stack, storyId, 'awaiting-keyframe-review');
  expect(before.shots.every((s) => s.attempts.length === 0)).toBe(true);
  await stack.client.reviewKeyframes(storyId, { picks, approve: true });
  return stack.client.result(storyId);
}

test('a 3-shot parallel story finishes after the keyframes are approved, with boundary frames matching the picks', async () => {
  const story = smallStory({ shots: 3, mode: 'parallel', variations: 2 });
  const result = await runApproved(story, 'parallel-1', [{ boundary: 1, variation: 1 }]);
  expect(result.status).toBe('completed');

  const info = await probeMedia(result.video!);
  const crossfade = story.transition!.crossfade!;
  expect(Math.abs(info.durationSeconds - (15 - 2 * crossfade))).toBeLessThanOrEqual(1 / 24 + 0.01);
  expect([info.width, info.height]).toEqual([960, 540]);
  expect(info.videoCodec).toBe('h264');
  expect(info.audioCodec).toBe('aac');
  // The emulator's clips have a keyframe every second: only the windows around the two fades are re-encoded.
  expect(result.output?.stitch).toMatchObject({ method: 'smart-crossfade' });
  expect(result.output!.stitch!.fallbackReason).toBeUndefined();
  expect(result.output!.stitch!.reencodedSeconds).toBeGreaterThan(0);
  expect(result.output!.stitch!.reencodedSeconds).toBeLessThan(info.durationSeconds / 2);

  const progress = await stack.client.progress('parallel-1');
  expect(progress.keyframes[1].picked).toBe(1);
  const keyframe = (b: number) => progress.keyframes[b].variations[progress.keyframes[b].picked!].path!;
  // Boundary b of the final video: frame 0, the middle of each cross-fade, and the last frame.
  const boundaryTimes = [0, 5 - crossfade / 2, 10 - crossfade - crossfade / 2, info.durationSeconds - 0.05];
  for (const [b, t] of boundaryTimes.entries()) {
    const frame = path.join(scratch, `parallel-b${b}.png`);
    await extractFrame(result.video!, t, frame);
    const own = await imageDiff(frame, keyframe(b));
    const other = await imageDiff(frame, keyframe((b + 2) % 4));
    expect(own).toBeLessThan(12);
    expect(own * 3).toBeLessThan(other);
  }
  expect(result.shots.map((s) => s.attempts)).toEqual([1, 1, 1]);
  expect(result.credits).toBeCloseTo(progress.cost.estimated.credits, 5);
  await expectPaidOnceAndCounted(stack, result);
  const stats = await getStats(stack.emulator.origin);
  expect(stats.keys[stack.lumaKey].billed).toBe(4 * 2 + 3);
});

test('a 3-shot chained story starts each clip from the last frame of the one before', async () => {
  const story = smallStory({ shots: 3, mode: 'chained', variations: 1 });
  const result = await runApproved(story, 'chained-1', []);
  expect(result.status).toBe('completed');
  const info = await probeMedia(result.video!);
  expect(Math.abs(info.durationSeconds - (15 - 2 * story.transition!.crossfade!))).toBeLessThanOrEqual(1 / 24 + 0.01);
  expect(result.output?.stitch?.method).toBe('smart-crossfade');
  const progress = await stack.client.progress('chained-1');
  expect(progress.mode).toBe('chained');
  expect(result.storyboard).toMatch(/storyboard\.png$/);
  expect(result.poster).toMatch(/poster\.jpg$/);
});
