import { z } from 'zod';
import { STORY_ID_PATTERN } from '../../common/constants';
import {
  CLIP_ATTEMPT_STATES,
  keyframeReviewSchema,
  raiseBudgetSchema,
  shotReviewSchema,
  STAGES,
} from '../../common/messages';
import { storySpecSchema } from '../../common/story';
import { MAX_REVIEW_LINK_TTL_SECONDS } from './auth';
import { ERROR_STATUS, type ApiErrorCode } from './errors';

// Request and response schemas of the HTTP API. Request bodies reuse the schemas every other edge validates with
// (common/story.ts, common/messages.ts); the response schemas describe what the routes send, feed the OpenAPI
// document, and are what the API tests parse responses with.

/** A story id in a path or body: the workflow id, so restricted to URL- and file-safe characters. */
export const storyIdSchema = z
  .string()
  .regex(STORY_ID_PATTERN, 'use letters, digits, ".", "_" and "-" (at most 80, starting with a letter or digit)');

/** `POST /v1/stories` in its envelope form; a body without `story` is the story itself. */
export const createStoryEnvelopeSchema = z
  .object({
    id: storyIdSchema.optional().describe('Story id (also the Temporal workflow id); default: a new one'),
    story: storySpecSchema,
  })
  .strict();

/** `POST /v1/stories` and `POST /v1/estimate`: a story, or `{ id?, story }`. */
export const createStoryBodySchema = z.union([createStoryEnvelopeSchema, storySpecSchema]);

/** `GET /v1/stories` query. */
export const listQuerySchema = z
  .object({
    stage: z.enum(STAGES).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();

/** `GET /v1/stories/:id/result` query: `wait=false` answers 202 at once while the story runs. */
export const resultQuerySchema = z.object({ wait: z.enum(['true', 'false']).default('true') }).strict();

/** Body of `POST /v1/stories/:id/shots/:n/review`; the shot is the path's `n` (counting from 1). */
export const shotReviewBodySchema = z
  .object({ decision: shotReviewSchema.shape.decision, feedback: shotReviewSchema.shape.feedback })
  .strict();

/** Body of `POST /v1/stories/:id/review-link`. */
export const reviewLinkRequestSchema = z
  .object({ expiresInSeconds: z.number().int().min(60).max(MAX_REVIEW_LINK_TTL_SECONDS).optional() })
  .strict();

export { keyframeReviewSchema, raiseBudgetSchema, storySpecSchema };

// ---- responses ----------------------------------------------------------------------------------------------------

const count = z.number().int().min(0);
const url = z.string().describe('URL of a file under /assets/');
const assetSchema = z.object({ url });

/** The cost estimate of a story before anything is spent. */
export const costEstimateSchema = z.object({
  keyframeImages: count,
  clips: count,
  imageCredits: z.number(),
  videoCredits: z.number(),
  credits: z.number(),
  dollars: z.number(),
});

/** Links of a story. */
export const storyLinksSchema = z.object({
  self: z.string(),
  result: z.string(),
  review: z.string().optional().describe('Signed review page link (only in the answer that created the story)'),
  reviewExpiresAt: z.string().optional(),
  temporalUi: z.string(),
});

/** Answer of `POST /v1/stories`: 201 when started, 200 when an `Idempotency-Key` found the story it started before. */
export const storyCreatedSchema = z.object({
  id: storyIdSchema,
  runId: z.string().optional(),
  estimate: costEstimateSchema,
  links: storyLinksSchema,
});

/** Credits and dollars of a story so far. */
export const costProgressSchema = z.object({
  estimated: costEstimateSchema,
  budgetCredits: z.number().optional(),
  used: z.number(),
  dollars: z.number(),
  waitingForBudget: z.boolean(),
});

const generationState = z.enum(['pending', 'generating', 'ready', 'failed']);

/** Every generation a story paid for. */
const paidSchema = z
  .array(
    z.object({ generationId: z.string(), what: z.string(), credits: z.number(), refunded: z.boolean().optional() })
  )
  .optional()
  .describe('Every generation the story paid for; refunded ones with 0 credits');

/** The small answer of a review update. */
export const reviewAckSchema = z.object({
  storyId: z.string(),
  what: z.enum(['keyframes', 'shot']),
  shot: count.optional(),
  round: count.optional(),
  stage: z.enum(STAGES),
  duplicate: z.boolean().describe('True when this Idempotency-Key had been applied before: nothing was applied again'),
});

/** Progress of a story as the API shows it: files as URLs (server paths are not exposed). */
export const storyProgressSchema = z.object({
  storyId: z.string(),
  title: z.string(),
  mode: z.enum(['parallel', 'chained']),
  stage: z.enum(STAGES),
  keyframes: z.array(
    z.object({
      boundary: count,
      prompt: z.string(),
      round: count,
      state: generationState,
      picked: count.optional(),
      variations: z.array(
        z.object({
          index: count,
          state: generationState,
          url: url.optional(),
          generationId: z.string().optional(),
          credits: z.number(),
          error: z.string().optional(),
          supplied: z.boolean().optional(),
        })
      ),
    })
  ),
  shots: z.array(
    z.object({
      index: count.describe('0-based; the review route counts shots from 1'),
      state: z.enum(['pending', 'generating', 'awaiting-review', 'done', 'failed', 'cancelled']),
      clip: assetSchema.optional(),
      credits: z.number(),
      attempts: z.array(
        z.object({
          attempt: count,
          generationId: z.string().optional(),
          state: z.enum(CLIP_ATTEMPT_STATES),
          credits: z.number(),
          failureReason: z.string().optional(),
          feedback: z.string().optional(),
          clip: assetSchema.optional(),
          duplicates: z.array(z.string()).optional(),
        })
      ),
    })
  ),
  cost: costProgressSchema,
  stageStartedAt: z.partialRecord(z.enum(STAGES), z.string()),
  output: z
    .object({ video: assetSchema, poster: assetSchema, storyboard: assetSchema, durationSeconds: z.number() })
    .optional(),
  error: z.string().optional(),
  paid: paidSchema,
  review: reviewAckSchema.optional().describe('The acknowledgement of the review just applied (review routes only)'),
  links: storyLinksSchema,
});

/** What a story ended with; files as URLs. */
export const storyResultSchema = z.object({
  storyId: z.string(),
  status: z.enum(['completed', 'failed', 'cancelled']),
  video: url.optional(),
  poster: url.optional(),
  storyboard: url.optional(),
  durationSeconds: z.number().optional(),
  output: storyProgressSchema.shape.output,
  shots: z.array(
    z.object({
      index: count,
      attempts: count,
      generationIds: z.array(z.string()),
      clip: url.optional(),
      clips: z.array(url),
    })
  ),
  keyframes: z.array(z.object({ boundary: count, picked: count.optional(), images: z.array(url) })),
  credits: z.number(),
  dollars: z.number(),
  paid: paidSchema,
  error: z.string().optional(),
});

/** Answer of `GET /v1/stories/:id/result?wait=false` while the story still runs. */
export const resultPendingSchema = z.object({ storyId: z.string(), stage: z.enum(STAGES), links: storyLinksSchema });

/** Answer of `GET /v1/stories`. */
export const storyListSchema = z.object({
  stories: z.array(
    z.object({
      storyId: z.string(),
      title: z.string().optional(),
      status: z.string().describe('Temporal execution status: RUNNING, COMPLETED, FAILED, CANCELLED, ...'),
      stage: z.string().optional(),
      creditsUsed: z.number().optional(),
      startTime: z.string().optional(),
    })
  ),
});

/** Answer of `POST /v1/stories/:id/cancel`. */
export const cancelledSchema = z.object({ storyId: z.string(), status: z.literal('cancel-requested') });

/** Answer of `POST /v1/stories/:id/review-link`. */
export const reviewLinkSchema = z.object({ url: z.string(), expiresAt: z.string() });

/** Every error answer. */
export const errorSchema = z.object({
  error: z.object({
    code: z.enum(Object.keys(ERROR_STATUS) as [ApiErrorCode, ...ApiErrorCode[]]),
    message: z.string(),
    fields: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  }),
});
