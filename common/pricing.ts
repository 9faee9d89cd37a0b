import type { GenerationPriceInput } from './generations';
import type { CostEstimate } from './progress';
import type { ImageModel, Resolution, StorySpec } from './story';

/** Credits per started 5 seconds of video, and per image, with the plan's dollars per credit. */
export interface PriceTable {
  video: {
    /** No keyframes, 540p or 720p. */
    textToVideo: number;
    /** No keyframes, 1080p or 4k. */
    textToVideoHd: number;
    /** frame0 only. */
    startFrame: number;
    /** frame0 and frame1. */
    startEndFrame: number;
  };
  image: Record<ImageModel, number>;
  dollarsPerCredit: number;
}

/** Ray3.14 prices of early 2026 (see the brief); images priced so photon-1 is about $0.04 and photon-flash-1 $0.01. */
export const DEFAULT_PRICES: PriceTable = {
  video: { textToVideo: 2, textToVideoHd: 3, startFrame: 2, startEndFrame: 3 },
  image: { 'photon-1': 0.8, 'photon-flash-1': 0.2 },
  dollarsPerCredit: 0.05,
};

/** What a video generation is conditioned on, as far as its price is concerned. */
export interface VideoPriceInput {
  durationSeconds: number;
  resolution: Resolution | string;
  frame0: boolean;
  frame1: boolean;
}

/** Credits of one video generation: the per-5 s price times the number of started 5 s. */
export function videoCredits(prices: PriceTable, input: VideoPriceInput): number {
  const p = prices.video;
  const hd = input.resolution === '1080p' || input.resolution === '4k';
  const per5s =
    input.frame0 && input.frame1
      ? p.startEndFrame
      : input.frame0 || input.frame1
        ? p.startFrame
        : hd
          ? p.textToVideoHd
          : p.textToVideo;
  return per5s * Math.ceil(input.durationSeconds / 5);
}

/** Credits of one image generation. */
export function imageCredits(prices: PriceTable, model: ImageModel): number {
  return prices.image[model];
}

/** Rounds a credit or dollar figure for display and for sums that must not drift. */
export function roundMoney(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

/** Estimates a story's cost before anything is spent: every generated keyframe variation plus one clip per shot. */
export function estimateStory(story: StorySpec, prices: PriceTable = DEFAULT_PRICES): CostEstimate {
  const boundaries = story.shots.length + 1;
  const supplied = (story.keyframes ?? []).filter((k) => k !== null).length;
  const keyframeImages = (boundaries - supplied) * story.variations;
  const imageTotal = keyframeImages * imageCredits(prices, story.imageModel);
  const videoTotal = story.shots.reduce(
    (sum, shot) =>
      sum +
      videoCredits(prices, {
        durationSeconds: shot.duration,
        resolution: story.resolution,
        frame0: true,
        frame1: true,
      }),
    0
  );
  const credits = roundMoney(imageTotal + videoTotal);
  return {
    keyframeImages,
    clips: story.shots.length,
    imageCredits: roundMoney(imageTotal),
    videoCredits: roundMoney(videoTotal),
    credits,
    dollars: roundMoney(credits * prices.dollarsPerCredit),
  };
}

/** Credits of a generation described by what it was asked for (as a sweep finds it at the provider). */
export function generationCredits(prices: PriceTable, g: GenerationPriceInput): number {
  if (g.kind === 'image') return prices.image[g.model as ImageModel] ?? 0;
  return videoCredits(prices, {
    durationSeconds: g.durationSeconds ?? 5,
    resolution: g.resolution ?? '720p',
    frame0: !!g.frame0,
    frame1: !!g.frame1,
  });
}
