import type { GenerationPriceInput } from './generations';
import {
  PROVIDER_IDS,
  providerOf,
  videoModelInfo,
  type ImageModel,
  type ProviderId,
  type Resolution,
  type VideoModel,
} from './models';
import type { CostEstimate, ProviderCost } from './progress';
import { shotRoute, type StorySpec } from './story';

/** Dollars of a clip from a model billed in dollars: `first` for the first `firstSeconds`, then `perSecond`. */
export interface DollarPrice {
  firstSeconds: number;
  first: number;
  perSecond: number;
  /** A per-second price that replaces `perSecond` at some resolutions (e.g. 4k). */
  perSecondAt?: Partial<Record<Resolution, number>>;
}

/**
 * Every provider's prices in one table. reelflow counts money in credits: one credit is one Luma credit, worth
 * `dollarsPerCredit` (your Luma plan); a model billed in dollars (fal) costs its dollars in those credits, so one
 * budget and one ledger cover every provider.
 */
export interface PriceTable {
  /** Luma Ray video: credits per started 5 seconds. */
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
  /** Luma Photon images: credits per image. */
  image: Record<ImageModel, number>;
  dollarsPerCredit: number;
  /** Models billed in dollars (fal's), by reelflow model name. Tables recorded before it existed take the defaults. */
  dollars?: Partial<Record<VideoModel, DollarPrice>>;
}

/** fal's published prices (see docs/providers.md): Kling 2.5 Turbo Pro $0.35 per 5 s + $0.07/s; Veo 3.1 Fast $0.10/s. */
export const DEFAULT_DOLLAR_PRICES: Partial<Record<VideoModel, DollarPrice>> = {
  'kling-2.5-turbo-pro': { firstSeconds: 5, first: 0.35, perSecond: 0.07 },
  'veo-3.1-fast': { firstSeconds: 0, first: 0, perSecond: 0.1, perSecondAt: { '4k': 0.3 } },
};

/** Ray3.14 prices of early 2026 (see the brief); images priced so photon-1 is about $0.04 and photon-flash-1 $0.01. */
export const DEFAULT_PRICES: PriceTable = {
  video: { textToVideo: 2, textToVideoHd: 3, startFrame: 2, startEndFrame: 3 },
  image: { 'photon-1': 0.8, 'photon-flash-1': 0.2 },
  dollarsPerCredit: 0.05,
  dollars: DEFAULT_DOLLAR_PRICES,
};

/** What a video generation is conditioned on, as far as its price is concerned. */
export interface VideoPriceInput {
  durationSeconds: number;
  resolution: Resolution | string;
  frame0: boolean;
  frame1: boolean;
}

/** Credits of one Luma video generation: the per-5 s price times the number of started 5 s. */
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

/** Dollars of one clip of a model billed in dollars. */
export function clipDollars(prices: PriceTable, model: string, input: VideoPriceInput): number {
  const price = prices.dollars?.[model as VideoModel] ?? DEFAULT_DOLLAR_PRICES[model as VideoModel];
  if (!price) return 0;
  const perSecond = price.perSecondAt?.[input.resolution as Resolution] ?? price.perSecond;
  return roundMoney(price.first + Math.max(0, input.durationSeconds - price.firstSeconds) * perSecond);
}

/** Credits of one clip of any model: Luma's credits, or a dollar price counted in credits. */
export function clipCredits(prices: PriceTable, model: string, input: VideoPriceInput): number {
  if (providerOf(model) === 'luma') return videoCredits(prices, input);
  return roundMoney(clipDollars(prices, model, input) / prices.dollarsPerCredit);
}

/** Credits of one image generation. */
export function imageCredits(prices: PriceTable, model: ImageModel): number {
  return prices.image[model];
}

/** Rounds a credit or dollar figure for display and for sums that must not drift. */
export function roundMoney(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

/** Dollars of a credit figure. */
export function creditDollars(prices: PriceTable, credits: number): number {
  return roundMoney(credits * prices.dollarsPerCredit);
}

/**
 * Estimates a story's cost before anything is spent: every generated keyframe variation plus one clip per shot on
 * the shot's model (fallbacks cost nothing unless used), with the same figures by provider.
 */
export function estimateStory(story: StorySpec, prices: PriceTable = DEFAULT_PRICES): CostEstimate {
  const boundaries = story.shots.length + 1;
  const supplied = (story.keyframes ?? []).filter((k) => k !== null).length;
  const keyframeImages = (boundaries - supplied) * story.variations;
  const imageTotal = keyframeImages * imageCredits(prices, story.imageModel);
  const byProvider = new Map<ProviderId, ProviderCost>();
  const slot = (provider: ProviderId) => {
    let cost = byProvider.get(provider);
    if (!cost) byProvider.set(provider, (cost = { provider, keyframeImages: 0, clips: 0, credits: 0, dollars: 0 }));
    return cost;
  };
  if (keyframeImages > 0) {
    Object.assign(slot('luma'), { keyframeImages, credits: roundMoney(imageTotal) });
  }
  let videoTotal = 0;
  story.shots.forEach((shot, i) => {
    const { model } = shotRoute(story, i);
    const credits = clipCredits(prices, model, {
      durationSeconds: shot.duration,
      resolution: story.resolution,
      frame0: true,
      frame1: true,
    });
    videoTotal += credits;
    const cost = slot(providerOf(model));
    cost.clips++;
    cost.credits = roundMoney(cost.credits + credits);
  });
  for (const cost of byProvider.values()) cost.dollars = creditDollars(prices, cost.credits);
  const credits = roundMoney(imageTotal + videoTotal);
  return {
    keyframeImages,
    clips: story.shots.length,
    imageCredits: roundMoney(imageTotal),
    videoCredits: roundMoney(videoTotal),
    credits,
    dollars: creditDollars(prices, credits),
    byProvider: PROVIDER_IDS.flatMap((p) => (byProvider.has(p) ? [byProvider.get(p)!] : [])),
  };
}

/** Credits of a generation described by what it was asked for (as a sweep finds it at the provider). */
export function generationCredits(prices: PriceTable, g: GenerationPriceInput): number {
  if (g.kind === 'image') return prices.image[g.model as ImageModel] ?? 0;
  return clipCredits(prices, g.model, {
    durationSeconds: g.durationSeconds ?? 5,
    resolution: g.resolution ?? '720p',
    frame0: !!g.frame0,
    frame1: !!g.frame1,
  });
}

/** A price table with `override` merged in (the `REELFLOW_PRICES` setting): per section, and per model for dollars. */
export function mergePrices(
  base: PriceTable,
  override: Partial<Omit<PriceTable, 'dollars'>> & { dollars?: Record<string, Partial<DollarPrice>> }
): PriceTable {
  const dollars: Partial<Record<VideoModel, DollarPrice>> = { ...DEFAULT_DOLLAR_PRICES, ...base.dollars };
  for (const [model, price] of Object.entries(override.dollars ?? {})) {
    const known = videoModelInfo(model);
    if (!known) throw new Error(`dollars.${model}: no such model`);
    dollars[known.id as VideoModel] = { ...(dollars[known.id as VideoModel] ?? DOLLARS_ZERO), ...price };
  }
  return {
    video: { ...base.video, ...override.video },
    image: { ...base.image, ...override.image },
    dollarsPerCredit: override.dollarsPerCredit ?? base.dollarsPerCredit,
    dollars,
  };
}

const DOLLARS_ZERO: DollarPrice = { firstSeconds: 0, first: 0, perSecond: 0 };
