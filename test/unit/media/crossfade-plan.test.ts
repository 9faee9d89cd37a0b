import { planCrossfade, type PlanClip, type VideoPacket } from '../../../activities/crossfade-plan';

const FPS = 24;
const F = 1 / FPS;

/**
 * Packets of a clip of `frames` frames as an encoder with one B-frame between references writes them: per GOP the
 * keyframe, then P(n+2) before B(n+1). `keyframes` are frame numbers; `openAt` makes those keyframes open-GOP (the
 * B-frame shown just before one is decoded after it). `start` shifts the file's clock.
 */
function clip(frames: number, keyframes: number[], opts: { openAt?: number[]; start?: number } = {}): PlanClip {
  const { openAt = [], start = 0 } = opts;
  const order: number[] = [];
  const gops = [...keyframes, frames];
  for (let g = 0; g < keyframes.length; g++) {
    const [from, to] = [gops[g], gops[g + 1]];
    order.push(from);
    // An open GOP's keyframe is followed by the previous GOP's last picture, which refers to it.
    if (openAt.includes(from)) order.push(from - 1);
    const last = openAt.includes(to) ? to - 1 : to;
    for (let n = from + 1; n < last; n += 2) {
      if (n + 1 < last) order.push(n + 1, n);
      else order.push(n);
    }
  }
  const packets: VideoPacket[] = order.map((n, i) => ({
    pts: start + n * F,
    dts: start + (i - 1) * F,
    key: keyframes.includes(n),
  }));
  return { durationSeconds: frames * F, frameSeconds: F, packets };
}

const everySecond = (seconds: number) => Array.from({ length: seconds }, (_, s) => s * FPS);

describe('planCrossfade', () => {
  test('copies each clip from a keyframe to the last cut before its fade; re-encodes from there to the next keyframe', () => {
    const clips = [0, 1, 2].map(() => clip(72, everySecond(3)));
    const plan = planCrossfade(clips, 0.5);
    if (!plan.ok) throw new Error(plan.reason);
    expect(plan.pieces.map((p) => p.kind)).toEqual(['copy', 'transition', 'copy', 'transition', 'copy']);
    const [first, window, middle, , last] = plan.pieces;
    // The fade starts at frame 60; in decode order 48, 50, 49, … 58, 57 | 60, 59: the last cut before it is at 59.
    expect(first).toMatchObject({ kind: 'copy', clip: 0, inpointSeconds: 0, frames: 59 });
    expect(first.kind === 'copy' && first.seconds).toBeCloseTo(59 * F, 9);
    // The concat demuxer cuts by dts: between packet 58 (dts 57 frames) and packet 59 (dts 58).
    expect(first.kind === 'copy' && first.outpointSeconds).toBeCloseTo(57.5 * F, 9);
    expect(window).toMatchObject({
      kind: 'transition',
      inputs: [
        { clip: 0, seekSeconds: 2, skipFrames: 11 },
        { clip: 1, fromSeconds: 0, seekSeconds: 0, skipFrames: 0, frames: 24 },
      ],
    });
    if (window.kind !== 'transition') throw new Error('not a transition');
    expect(window.inputs[0].fromSeconds).toBeCloseTo(59 * F, 9);
    expect(window.inputs[0].seconds).toBeCloseTo(13 * F, 9);
    expect(window.seconds).toBeCloseTo((13 + 24 - 12) * F, 9);
    // Clip 2 is copied from its keyframe at 1 s (the end of its incoming fade is 0.5 s).
    expect(middle).toMatchObject({ kind: 'copy', clip: 1, frames: 59 - 24 });
    expect(middle.kind === 'copy' && middle.inpointSeconds).toBeCloseTo(1, 9);
    expect(last).toMatchObject({ kind: 'copy', clip: 2, frames: 48, outpointSeconds: undefined });
    expect(plan.reencodedSeconds).toBeCloseTo(2 * 25 * F, 9);
    expect(plan.totalSeconds).toBeCloseTo(8, 9);
    // Every frame of the output is in exactly one piece.
    const frames = plan.pieces.reduce((sum, p) => sum + (p.kind === 'copy' ? p.frames : p.seconds * FPS), 0);
    expect(frames).toBeCloseTo(3 * 72 - 2 * 12, 6);
  });

  test('uses a keyframe exactly at the start of a fade, and one exactly at the end of the incoming fade', () => {
    const plan = planCrossfade([clip(72, everySecond(3)), clip(72, everySecond(3))], 1);
    if (!plan.ok) throw new Error(plan.reason);
    const [first, window, second] = plan.pieces;
    expect(first).toMatchObject({ kind: 'copy', frames: 48 });
    expect(window).toMatchObject({ inputs: [{ fromSeconds: 2, seekSeconds: 2, skipFrames: 0 }, { frames: 24 }] });
    expect(window.kind === 'transition' && window.seconds).toBeCloseTo(1, 9);
    expect(second).toMatchObject({ kind: 'copy', clip: 1, frames: 48 });
  });

  test('re-encodes a clip with no keyframe between its fades whole, in one window with three inputs', () => {
    const plan = planCrossfade([clip(72, everySecond(3)), clip(72, [0]), clip(72, everySecond(3))], 0.5);
    if (!plan.ok) throw new Error(plan.reason);
    expect(plan.pieces.map((p) => p.kind)).toEqual(['copy', 'transition', 'copy']);
    const window = plan.pieces[1];
    expect(window).toMatchObject({
      inputs: [
        { clip: 0, seekSeconds: 2, skipFrames: 11 },
        { clip: 1, fromSeconds: 0 },
        { clip: 2, fromSeconds: 0, frames: 24 },
      ],
    });
    // The middle clip is used whole: no frame limit.
    expect(window.kind === 'transition' && window.inputs[1].frames).toBeUndefined();
    expect(plan.reencodedSeconds).toBeCloseTo((13 + 72 + 24 - 24) * F, 9);
  });

  test('does not start a copy at an open-GOP keyframe, and gives up when too much would be re-encoded', () => {
    const open = clip(72, everySecond(3), { openAt: [24, 48] });
    expect(open.packets.slice(23, 26).map((p) => Math.round(p.pts * FPS))).toEqual([24, 23, 26]);
    // Only clip 1's start can be copied (to frame 59): the rest, 13 + 72 + 72 - 24 frames, would be re-encoded.
    const plan = planCrossfade([open, open, open], 0.5);
    expect(plan).toEqual({
      ok: false,
      reason: 'too few keyframes: 5.54 of 8.00 s would be re-encoded (more than 60 %)',
    });
  });

  test('gives up on a clip that does not start with a keyframe or has no packets', () => {
    const bad = clip(72, everySecond(3));
    bad.packets[0] = { ...bad.packets[0], key: false };
    expect(planCrossfade([clip(72, everySecond(3)), bad], 0.5)).toEqual({
      ok: false,
      reason: 'clip 2 does not start with a keyframe',
    });
    expect(planCrossfade([{ durationSeconds: 3, frameSeconds: F, packets: [] }, bad], 0.5)).toEqual({
      ok: false,
      reason: 'clip 1 has no video packets',
    });
  });

  test("keeps the file's own clock for the concat demuxer's seek and counts fades from the first frame", () => {
    const plan = planCrossfade(
      [clip(72, everySecond(3), { start: 10 }), clip(72, everySecond(3), { start: 1.5 })],
      0.5
    );
    if (!plan.ok) throw new Error(plan.reason);
    const [first, window, second] = plan.pieces;
    expect(first.kind === 'copy' && first.inpointSeconds).toBeCloseTo(10, 9);
    expect(window).toMatchObject({
      inputs: [
        { seekSeconds: 2, skipFrames: 11 },
        { fromSeconds: 0, frames: 24 },
      ],
    });
    expect(second.kind === 'copy' && second.inpointSeconds).toBeCloseTo(2.5, 9);
  });
});
