import { z } from 'zod';
import { PROVIDER_IDS } from './models';
import { CLIP_ATTEMPT_STATES, GENERATION_STATES, RESULT_STATUSES, SHOT_STATES, STAGES } from './stages';
import { STORY_MODES } from './story';

// The answer of the `progress` query and the result of a run, as zod schemas: the one source of their TypeScript
// types, of the HTTP API's response schemas and of its OpenAPI document.

const count = z.number().int().min(0);
/** Dollars per credit when a story has paid nothing yet (its own rate is only known from what it paid). */
const DEFAULT_DOLLARS_PER_CREDIT = 0.05;

const provider = z.enum(PROVIDER_IDS).describe('The provider account (`luma`, `fal`)');

/** What one provider's share of a story costs (estimated, or paid so far). */
export const providerCostSchema = z.object({
  provider,
  keyframeImages: count,
  clips: count,
  credits: z.number().describe('In reelflow credits (one Luma credit; dollar prices counted at dollarsPerCredit)'),
  dollars: z.number(),
});
/** What one provider's share of a story costs. */
export type ProviderCost = z.infer<typeof providerCostSchema>;

/**
 * How the finished video was stitched: `copy` (hard cuts, the clips' H.264 joined as it is), `reencode` (hard cuts
 * between clips that differ), `smart-crossfade` (only the windows around each fade re-encoded, the rest copied) or
 * `full-crossfade` (the whole video re-encoded, when the clips do not allow the smart way).
 */
export const STITCH_METHODS = ['copy', 'reencode', 'smart-crossfade', 'full-crossfade'] as const;
/** How the finished video was stitched. */
export type StitchMethod = (typeof STITCH_METHODS)[number];

/** How the stitch went; optional, so results of runs from before it was recorded still parse. */
export const stitchReportSchema = z.object({
  method: z.enum(STITCH_METHODS),
  reencodedSeconds: z.number().describe('Seconds of video re-encoded (0 for a copy)'),
  fallbackReason: z.string().optional().describe('Why a cross-fade was re-encoded whole'),
});
/** How the stitch went. */
export type StitchReport = z.infer<typeof stitchReportSchema>;

/** What a story will cost if nothing is regenerated. */
export const costEstimateSchema = z.object({
  keyframeImages: count,
  clips: count,
  imageCredits: z.number(),
  videoCredits: z.number(),
  credits: z.number(),
  dollars: z.number(),
  byProvider: z.array(providerCostSchema).optional().describe('The same estimate by provider'),
});
/** What a story will cost if nothing is regenerated. */
export type CostEstimate = z.infer<typeof costEstimateSchema>;

/** A generation the story paid for; refunded ones (failed at the provider) stay listed with 0 credits. */
export const paidGenerationSchema = z.object({
  generationId: z.string(),
  what: z.string().describe('What it was for, e.g. `keyframe 2 variation 1` or `shot 3 attempt 2`'),
  credits: z.number(),
  refunded: z
    .boolean()
    .optional()
    .describe('Not charged in the end (failed; or stopped at a provider billing results)'),
  provider: provider.optional().describe('Who charged it (none: luma)'),
  model: z.string().optional(),
});
/** A generation the story paid for. */
export type PaidGeneration = z.infer<typeof paidGenerationSchema>;

/** Credits and dollars of a story so far. */
export const costProgressSchema = z.object({
  estimated: costEstimateSchema,
  budgetCredits: z.number().optional(),
  /** Credits the provider charged (failed generations are refunded and not counted). */
  used: z.number(),
  dollars: z.number(),
  /** What one credit is worth in this story's price table. */
  dollarsPerCredit: z.number().optional(),
  waitingForBudget: z.boolean(),
});
/** Credits and dollars of a story so far. */
export type CostProgress = z.infer<typeof costProgressSchema>;

/**
 * The progress and result schemas for one way of naming files: the workflows' own (`{ path, url }` pairs and
 * paths) or the API's (URLs only). Both come from this one function, so they cannot differ in anything else.
 */
export function storySchemas<A extends z.ZodRawShape>(asset: z.ZodObject<A>, file: z.ZodString) {
  const variation = z
    .object({
      index: count,
      state: z.enum(GENERATION_STATES),
      generationId: z.string().optional(),
      credits: z.number(),
      error: z.string().optional(),
      supplied: z.boolean().optional(),
    })
    .extend(asset.partial().shape);
  const keyframe = z.object({
    boundary: count,
    prompt: z.string(),
    round: count.describe('1 for the first round; each regeneration adds one'),
    state: z.enum(GENERATION_STATES),
    variations: z.array(variation),
    picked: count.optional(),
  });
  const attempt = z.object({
    attempt: count,
    provider: provider.optional().describe('Who made (or was asked to make) this clip'),
    model: z.string().optional().describe('The model of this attempt'),
    fallback: z.boolean().optional().describe('True when this attempt ran on the fallback model'),
    generationId: z.string().optional(),
    state: z.enum(CLIP_ATTEMPT_STATES),
    credits: z.number(),
    failureReason: z.string().optional(),
    feedback: z.string().optional(),
    clip: asset.optional(),
    duplicates: z.array(z.string()).optional().describe('Billed generations of this key found and deleted'),
  });
  const shot = z.object({
    index: count.describe('0-based; review routes and ids count shots from 1'),
    provider: provider.optional().describe("The provider of the shot's current model"),
    model: z.string().optional().describe("The shot's current model (its fallback once the shot fell back)"),
    state: z.enum(SHOT_STATES),
    attempts: z.array(attempt),
    clip: asset.optional(),
    credits: z.number(),
  });
  const output = z.object({
    video: asset,
    poster: asset,
    storyboard: asset,
    durationSeconds: z.number(),
    stitch: stitchReportSchema.optional(),
  });
  const progress = z.object({
    storyId: z.string(),
    title: z.string(),
    mode: z.enum(STORY_MODES),
    stage: z.enum(STAGES),
    keyframes: z.array(keyframe),
    shots: z.array(shot),
    cost: costProgressSchema,
    stageStartedAt: z.partialRecord(z.enum(STAGES), z.string()).describe('When each stage began (workflow clock)'),
    output: output.optional(),
    error: z.string().optional(),
    paid: z.array(paidGenerationSchema).optional(),
  });
  const result = z.object({
    storyId: z.string(),
    status: z.enum(RESULT_STATUSES),
    video: file.optional(),
    poster: file.optional(),
    storyboard: file.optional(),
    durationSeconds: z.number().optional(),
    output: output.optional(),
    shots: z.array(
      z.object({
        index: count,
        provider: provider.optional().describe('Who made the clip used (or was last asked to)'),
        model: z.string().optional(),
        attempts: count,
        generationIds: z.array(z.string()),
        clip: file.optional(),
        clips: z.array(file),
        credits: z.number().optional().describe('What this shot paid, every attempt counted'),
        attemptDetails: z
          .array(
            z.object({
              attempt: count,
              provider: provider.optional(),
              model: z.string().optional(),
              state: z.enum(CLIP_ATTEMPT_STATES),
              generationId: z.string().optional(),
              credits: z.number(),
              fallback: z.boolean().optional(),
            })
          )
          .optional()
          .describe('Every attempt: where it ran and what it cost'),
      })
    ),
    keyframes: z.array(z.object({ boundary: count, picked: count.optional(), images: z.array(file) })),
    credits: z.number(),
    dollars: z.number(),
    byProvider: z.array(providerCostSchema).optional().describe('What each provider charged'),
    paid: z.array(paidGenerationSchema).optional(),
    error: z.string().optional(),
  });
  return { asset, variation, keyframe, attempt, shot, output, progress, result };
}

/**
 * The schemas as the workflows keep them: files as asset references. A reference made since the object store
 * (issue 13) has its store `key` and canonical `url`, plus `path` in the local store; older ones are `{ path, url }`
 * pairs of the local store, and still parse and resolve.
 */
export const storyFiles = storySchemas(
  z.object({
    key: z.string().optional().describe('name in the asset store, `<story>/run-<id>/<folder>/<file>`'),
    path: z.string().optional().describe('where the file lies (local asset store only)'),
    url: z.string().describe('canonical, unsigned URL: `<public URL>/assets/<key>` or `s3://<bucket>/<prefix>/<key>`'),
  }),
  z.string().describe('a file: its path (local asset store) or its canonical URL (object store)')
);

/** A file made by the run: its name in the asset store, its canonical URL and, in the local store, its path. */
export type AssetRef = z.infer<typeof storyFiles.asset>;

/**
 * A file of the store as an activity is handed it: its reference, or, from workflow code older than the object
 * store, its local path (such runs only ever used the local store).
 */
export type StoredFile = AssetRef | string;

/** How results name a file: its local path where there is one, else its canonical URL (`s3://…`). */
export function fileName(ref: AssetRef): string {
  return ref.path ?? ref.url;
}
/** One image variation of a boundary keyframe. */
export type KeyframeVariation = z.infer<typeof storyFiles.variation>;
/** A boundary keyframe: the picture between two shots (or before the first / after the last). */
export type KeyframeProgress = z.infer<typeof storyFiles.keyframe>;
/** One paid attempt at a shot's clip. */
export type ClipAttempt = z.infer<typeof storyFiles.attempt>;
/** Progress of one shot. */
export type ShotProgress = z.infer<typeof storyFiles.shot>;
/** The finished video and its companions. */
export type StoryOutput = z.infer<typeof storyFiles.output>;
/** The answer of the `progress` query. */
export type StoryProgress = z.infer<typeof storyFiles.progress>;
/** What a story run ended with; a failed or cancelled one still lists every asset it paid for. */
export type StoryResult = z.infer<typeof storyFiles.result>;

/** What each provider charged, from the ledger of paid generations (credits; dollars at `dollarsPerCredit`). */
export function costByProvider(paid: PaidGeneration[], dollarsPerCredit: number): ProviderCost[] {
  const costs = new Map<string, ProviderCost>();
  for (const p of paid) {
    const id = p.provider ?? 'luma';
    let cost = costs.get(id);
    if (!cost) costs.set(id, (cost = { provider: id, keyframeImages: 0, clips: 0, credits: 0, dollars: 0 }));
    if (p.what.startsWith('keyframe')) cost.keyframeImages++;
    else cost.clips++;
    cost.credits = Math.round((cost.credits + p.credits) * 10_000) / 10_000;
  }
  for (const cost of costs.values()) cost.dollars = Math.round(cost.credits * dollarsPerCredit * 10_000) / 10_000;
  return PROVIDER_IDS.flatMap((id) => (costs.has(id) ? [costs.get(id)!] : []));
}

/** Builds the result of a run from its last progress snapshot. */
export function resultFromProgress(progress: StoryProgress): StoryResult {
  const status = progress.stage === 'completed' ? 'completed' : progress.stage === 'cancelled' ? 'cancelled' : 'failed';
  return {
    storyId: progress.storyId,
    status,
    video: progress.output && fileName(progress.output.video),
    poster: progress.output && fileName(progress.output.poster),
    storyboard: progress.output && fileName(progress.output.storyboard),
    durationSeconds: progress.output?.durationSeconds,
    output: progress.output,
    shots: progress.shots.map((s) => {
      const used = s.attempts.find((a) => a.clip && a.clip.url === s.clip?.url) ?? s.attempts.at(-1);
      return {
        index: s.index,
        ...((used?.provider ?? s.provider) && { provider: used?.provider ?? s.provider }),
        ...((used?.model ?? s.model) && { model: used?.model ?? s.model }),
        attempts: s.attempts.filter((a) => a.generationId).length,
        generationIds: s.attempts.flatMap((a) => (a.generationId ? [a.generationId] : [])),
        clip: s.clip && fileName(s.clip),
        clips: s.attempts.flatMap((a) => (a.clip ? [fileName(a.clip)] : [])),
        credits: s.credits,
        attemptDetails: s.attempts.map((a) => ({
          attempt: a.attempt,
          ...(a.provider && { provider: a.provider }),
          ...(a.model && { model: a.model }),
          state: a.state,
          ...(a.generationId && { generationId: a.generationId }),
          credits: a.credits,
          ...(a.fallback && { fallback: true }),
        })),
      };
    }),
    keyframes: progress.keyframes.map((k) => ({
      boundary: k.boundary,
      picked: k.picked,
      images: k.variations.flatMap((v) => (v.url ? [fileName({ ...v, url: v.url })] : [])),
    })),
    credits: progress.cost.used,
    dollars: progress.cost.dollars,
    ...(progress.paid && {
      byProvider: costByProvider(
        progress.paid,
        progress.cost.dollarsPerCredit ??
          (progress.cost.used > 0 ? progress.cost.dollars / progress.cost.used : DEFAULT_DOLLARS_PER_CREDIT)
      ),
      paid: progress.paid,
    }),
    error: progress.error,
  };
}

/** One story in a listing (the Temporal visibility record: no query to the workflow). */
export const storySummarySchema = z.object({
  storyId: z.string(),
  title: z.string().optional(),
  status: z.string().describe('Temporal execution status: RUNNING, COMPLETED, FAILED, CANCELED, ...'),
  stage: z.enum(STAGES).optional(),
  creditsUsed: z.number().optional(),
  startTime: z.string().optional(),
});
/** One story in a listing. */
export type StorySummary = z.infer<typeof storySummarySchema>;
