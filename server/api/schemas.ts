import { z } from 'zod';
import { STORY_ID_PATTERN } from '../../common/constants';
import { keyframeReviewSchema, raiseBudgetSchema, reviewAckSchema, shotReviewSchema } from '../../common/messages';
import { costEstimateSchema, costProgressSchema, storySchemas, storySummarySchema } from '../../common/progress';
import { STAGES } from '../../common/stages';
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
export { modelListingSchema } from '../../common/listing';

// ---- responses ----------------------------------------------------------------------------------------------------

const ASSET_URL =
  'URL of a file, fetched without a token for 1 hour: under /assets/ with our signature (local asset store), or a ' +
  'presigned GET URL of the bucket (S3 asset store)';

/** Progress and result as the API sends them: the same schemas as the workflows', with files as URLs only. */
const publicStory = storySchemas(
  z.object({
    url: z.string().describe(ASSET_URL),
  }),
  z.string().describe(ASSET_URL)
);

export { costEstimateSchema, costProgressSchema, reviewAckSchema };

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

/** Progress of a story as the API shows it, with its links (and, after a review, that review's answer). */
export const storyProgressSchema = publicStory.progress.extend({
  review: reviewAckSchema.optional().describe('The acknowledgement of the review just applied (review routes only)'),
  links: storyLinksSchema,
});

/** What a story ended with; files as URLs. */
export const storyResultSchema = publicStory.result;

/** Answer of `GET /v1/stories/:id/result?wait=false` while the story still runs. */
export const resultPendingSchema = z.object({ storyId: z.string(), stage: z.enum(STAGES), links: storyLinksSchema });

/** Answer of `GET /v1/stories`. */
export const storyListSchema = z.object({ stories: z.array(storySummarySchema) });

/** Answer of `POST /v1/stories/:id/cancel`. */
export const cancelledSchema = z.object({ storyId: z.string(), status: z.literal('cancel-requested') });

/** Answer of `POST /v1/stories/:id/review-link`. */
export const reviewLinkSchema = z.object({ url: z.string(), expiresAt: z.string() });

/** Every error answer. */
export const errorSchema = z.object({
  error: z.object({
    code: z.enum(Object.keys(ERROR_STATUS) as [ApiErrorCode, ...ApiErrorCode[]]),
    message: z.string(),
    fields: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .describe('Each bad field'),
  }),
});
