import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { extractFrame, probeMedia } from '../../activities/ffmpeg';
import { imageDiff } from '../../activities/images';
import type { AssetRef } from '../../common/progress';
import { getStats } from '../../emulator/admin';
import type { StoryInputForTests } from '../helpers/stories';
import { expectPaidOnceAndCounted } from '../helpers/ledger';
import { startS3Server, type S3TestServer } from '../helpers/s3-server';
import { smallStory } from '../helpers/stories';
import { startTestStack, waitForStage, type TestStack } from '../helpers/stack';

// The whole pipeline on both asset stores: the local folder (the default) and an S3-compatible bucket (moto, a real
// server on loopback), where no asset file may be left in the data directory.

const scratch = mkdtempSync(path.join(os.tmpdir(), 'reelflow-frames-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Every file under `dir` (none when it does not exist). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

describe.each(['local', 's3'] as const)('on the %s asset store', (backend) => {
  let stack: TestStack;
  let s3: S3TestServer | undefined;
  // Story ids are workflow ids on the shared dev server: one set per backend.
  const id = (name: string) => (backend === 'local' ? name : `s3-${name}`);
  let copies = 0;
  /** A local copy of a stored file, fetched through the store as any other process would. */
  const local = async (ref: AssetRef) => {
    const file = path.join(scratch, `${backend}-${copies++}${path.extname(ref.url)}`);
    await stack.assets.get(ref, file);
    return file;
  };

  beforeAll(async () => {
    if (backend === 's3') s3 = await startS3Server('moto');
    stack = await startTestStack({ s3 });
  });
  afterAll(async () => {
    await stack?.close();
    await s3?.stop();
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
    const result = await runApproved(story, id('parallel-1'), [{ boundary: 1, variation: 1 }]);
    expect(result.status).toBe('completed');
    const video = await local(result.output!.video);

    const info = await probeMedia(video);
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

    const progress = await stack.client.progress(id('parallel-1'));
    expect(progress.keyframes[1].picked).toBe(1);
    const keyframes = await Promise.all(
      progress.keyframes.map((k) => {
        const { key, path: file, url } = k.variations[k.picked!];
        return local({ key, path: file, url: url! });
      })
    );
    const keyframe = (b: number) => keyframes[b];
    // Boundary b of the final video: frame 0, the middle of each cross-fade, and the last frame.
    const boundaryTimes = [0, 5 - crossfade / 2, 10 - crossfade - crossfade / 2, info.durationSeconds - 0.05];
    for (const [b, t] of boundaryTimes.entries()) {
      const frame = path.join(scratch, `${backend}-parallel-b${b}.png`);
      await extractFrame(video, t, frame);
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
    const result = await runApproved(story, id('chained-1'), []);
    expect(result.status).toBe('completed');
    const info = await probeMedia(await local(result.output!.video));
    expect(Math.abs(info.durationSeconds - (15 - 2 * story.transition!.crossfade!))).toBeLessThanOrEqual(1 / 24 + 0.01);
    expect(result.output?.stitch?.method).toBe('smart-crossfade');
    const progress = await stack.client.progress(id('chained-1'));
    expect(progress.mode).toBe('chained');
    expect(result.storyboard).toMatch(/storyboard\.png$/);
    expect(result.poster).toMatch(/poster\.jpg$/);
  });

  if (backend === 's3') {
    test('with the object store, results name files by s3:// URLs, and nothing is in the data directory', async () => {
      const result = await stack.client.result(id('chained-1'));
      expect(result.video).toMatch(
        /^s3:\/\/reelflow-[0-9a-f]{8}\/deployment-1\/s3-chained-1\/run-[0-9a-f]{8}\/output\/story\.mp4$/
      );
      expect(result.output!.video.path).toBeUndefined();
      expect(result.output!.video.key).toMatch(/^s3-chained-1\/run-[0-9a-f]{8}\/output\/story\.mp4$/);
      expect(filesUnder(stack.config.dataDir)).toEqual([]);
    });
  }
});
