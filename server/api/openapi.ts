import { z } from 'zod';
import type { Permission } from './auth';
import { REVIEW_LINK_HEADER } from './auth';
import {
  cancelledSchema,
  costEstimateSchema,
  costProgressSchema,
  createStoryBodySchema,
  errorSchema,
  keyframeReviewSchema,
  modelListingSchema,
  raiseBudgetSchema,
  resultPendingSchema,
  reviewLinkRequestSchema,
  reviewAckSchema,
  reviewLinkSchema,
  shotReviewBodySchema,
  storyCreatedSchema,
  storyListSchema,
  storyProgressSchema,
  storyResultSchema,
  storySpecSchema,
} from './schemas';
import { webhookEventSchema } from '../../common/messages';
import { STAGES } from '../../common/stages';

/** The components of the document, by name; each is generated from the zod schema the routes use. */
const COMPONENTS = {
  StorySpec: storySpecSchema,
  CreateStoryRequest: createStoryBodySchema,
  KeyframeReview: keyframeReviewSchema,
  ShotReview: shotReviewBodySchema,
  RaiseBudget: raiseBudgetSchema,
  ReviewLinkRequest: reviewLinkRequestSchema,
  StoryCreated: storyCreatedSchema,
  StoryProgress: storyProgressSchema,
  StoryResult: storyResultSchema,
  ResultPending: resultPendingSchema,
  StoryList: storyListSchema,
  CostEstimate: costEstimateSchema,
  CostProgress: costProgressSchema,
  ModelListing: modelListingSchema,
  Cancelled: cancelledSchema,
  ReviewLink: reviewLinkSchema,
  ReviewAck: reviewAckSchema,
  WebhookEvent: webhookEventSchema,
  Error: errorSchema,
} satisfies Record<string, z.ZodType>;

type Component = keyof typeof COMPONENTS;

interface Operation {
  summary: string;
  permission: Permission | 'public';
  body?: Component;
  bodyOptional?: boolean;
  responses: Record<number, [string, Component?]>;
  path?: Array<{ name: string; description: string; schema: object }>;
  query?: Array<{ name: string; description: string; schema: object }>;
  headers?: Array<{ name: string; description: string; schema: object }>;
}

const ERRORS_FOR_STORY: Record<number, [string, Component?]> = {
  401: ['Missing or unknown credentials', 'Error'],
  403: ['The role or review link may not do this', 'Error'],
  404: ['No story with this id', 'Error'],
};

/** A review is made safe to retry by its Idempotency-Key. */
const REVIEW_IDEMPOTENCY_KEY = {
  name: 'Idempotency-Key',
  description: 'A retried review with the same key is applied once (its answer says review.duplicate)',
  schema: { type: 'string', maxLength: 200 },
};

const REVIEW_ANSWERS: Record<number, [string, Component?]> = {
  200: ['Progress after the review, with the review acknowledgement', 'StoryProgress'],
  400: ['Invalid review', 'Error'],
  ...ERRORS_FOR_STORY,
};
const idParam = { name: 'id', description: 'Story id (the Temporal workflow id)', schema: { type: 'string' } };

/** reelflow's API as an OpenAPI 3.1 document; schemas come from the same zod schemas the routes validate with. */
export function buildOpenApiDocument(serverUrl: string): Record<string, unknown> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(COMPONENTS)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    io: 'input',
    uri: (id) => `#/components/schemas/${id}`,
    unrepresentable: 'any',
  });
  for (const schema of Object.values(schemas)) {
    delete (schema as Record<string, unknown>).$schema;
    delete (schema as Record<string, unknown>).$id;
  }

  const operations: Record<string, Record<string, Operation>> = {
    '/v1/stories': {
      post: {
        summary:
          'Start a story. Body: a story, or { id?, story }. With Idempotency-Key, a retry returns the same story.',
        permission: 'start',
        body: 'CreateStoryRequest',
        headers: [
          {
            name: 'Idempotency-Key',
            description: 'Same key, same story: 201 the first time, 200 after (422 if reused with another body)',
            schema: { type: 'string', maxLength: 200 },
          },
        ],
        responses: {
          201: ['Started', 'StoryCreated'],
          200: ['Already started with this Idempotency-Key', 'StoryCreated'],
          400: ['Invalid story; `fields` names each bad field', 'Error'],
          401: ERRORS_FOR_STORY[401],
          403: ERRORS_FOR_STORY[403],
          409: ['A story with this id exists or existed (ids are never reused)', 'Error'],
          422: ['Idempotency-Key reused with a different body', 'Error'],
        },
      },
      get: {
        summary: 'List recent stories, newest first',
        permission: 'list',
        query: [
          { name: 'stage', description: 'Only stories in this stage', schema: { type: 'string', enum: [...STAGES] } },
          { name: 'limit', description: 'At most this many (1-200, default 50)', schema: { type: 'integer' } },
        ],
        responses: { 200: ['Stories', 'StoryList'], 400: ['Bad query', 'Error'], 401: ERRORS_FOR_STORY[401] },
      },
    },
    '/v1/stories/{id}': {
      get: {
        summary: 'Progress: stage, keyframes, shots, credits',
        permission: 'read',
        path: [idParam],
        responses: { 200: ['Progress', 'StoryProgress'], ...ERRORS_FOR_STORY },
      },
    },
    '/v1/stories/{id}/result': {
      get: {
        summary: 'What the story made; waits for the end unless wait=false',
        permission: 'read',
        path: [idParam],
        query: [
          { name: 'wait', description: 'false: answer 202 at once while running', schema: { enum: ['true', 'false'] } },
        ],
        responses: {
          200: ['Ended (completed, failed or cancelled)', 'StoryResult'],
          202: ['Still running (wait=false)', 'ResultPending'],
          ...ERRORS_FOR_STORY,
        },
      },
    },
    '/v1/stories/{id}/keyframes/review': {
      post: {
        summary: 'Pick variations, regenerate boundaries (optionally with a new prompt), approve',
        permission: 'review',
        path: [idParam],
        body: 'KeyframeReview',
        headers: [REVIEW_IDEMPOTENCY_KEY],
        responses: {
          ...REVIEW_ANSWERS,
          409: ['The story is not waiting for a keyframe review (moved on, or ended)', 'Error'],
          422: ['The workflow refused the review (e.g. no such variation)', 'Error'],
        },
      },
    },
    '/v1/stories/{id}/shots/{n}/review': {
      post: {
        summary: "Approve or reject (with feedback) shot n's clip; n counts from 1",
        permission: 'review',
        path: [idParam, { name: 'n', description: 'Shot number, from 1', schema: { type: 'integer', minimum: 1 } }],
        body: 'ShotReview',
        headers: [REVIEW_IDEMPOTENCY_KEY],
        responses: {
          ...REVIEW_ANSWERS,
          409: ['The shot is not waiting for a review', 'Error'],
          422: ['The workflow refused the review', 'Error'],
        },
      },
    },
    '/v1/stories/{id}/budget': {
      post: {
        summary: "Raise the story's credit budget",
        permission: 'budget',
        path: [idParam],
        body: 'RaiseBudget',
        responses: {
          200: ['Cost after the change', 'CostProgress'],
          400: ['Invalid budget', 'Error'],
          ...ERRORS_FOR_STORY,
          409: ['The story has ended', 'Error'],
          422: ['Not above the current budget', 'Error'],
        },
      },
    },
    '/v1/stories/{id}/cancel': {
      post: {
        summary: 'Cancel the story (made assets are kept)',
        permission: 'cancel',
        path: [idParam],
        responses: {
          202: ['Cancellation requested', 'Cancelled'],
          ...ERRORS_FOR_STORY,
          409: ['The story has ended', 'Error'],
        },
      },
    },
    '/v1/stories/{id}/review-link': {
      post: {
        summary: 'Mint a signed link to the review page of one story',
        permission: 'mint-review-link',
        path: [idParam],
        body: 'ReviewLinkRequest',
        bodyOptional: true,
        responses: { 200: ['The link', 'ReviewLink'], 400: ['Invalid request', 'Error'], ...ERRORS_FOR_STORY },
      },
    },
    '/v1/models': {
      get: {
        summary:
          'Every provider and model: what each can make (durations, resolutions, aspect ratios, END frame, prompt length), its prices in credits and dollars, and each account gate',
        permission: 'list',
        responses: { 200: ['Providers and models', 'ModelListing'], 401: ERRORS_FOR_STORY[401] },
      },
    },
    '/v1/estimate': {
      post: {
        summary: "Estimate a story's cost without starting it",
        permission: 'estimate',
        body: 'CreateStoryRequest',
        responses: {
          200: ['Estimate', 'CostEstimate'],
          400: ['Invalid story', 'Error'],
          401: ERRORS_FOR_STORY[401],
          403: ERRORS_FOR_STORY[403],
        },
      },
    },
    '/openapi.json': {
      get: { summary: 'This document', permission: 'public', responses: { 200: ['OpenAPI 3.1 document'] } },
    },
  };

  const ref = (c: Component) => ({ $ref: `#/components/schemas/${c}` });
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [route, methods] of Object.entries(operations)) {
    paths[route] = {};
    for (const [method, op] of Object.entries(methods)) {
      const parameters = [
        ...(op.path ?? []).map((p) => ({ ...p, in: 'path', required: true })),
        ...(op.query ?? []).map((p) => ({ ...p, in: 'query', required: false })),
        ...(op.headers ?? []).map((p) => ({ ...p, in: 'header', required: false })),
      ];
      const security =
        op.permission === 'public'
          ? []
          : [{ bearer: [] }, ...(['read', 'review'].includes(op.permission) ? [{ reviewLink: [] }] : [])];
      paths[route][method] = {
        summary: op.summary,
        description: op.permission === 'public' ? 'No credentials needed.' : `Needs the '${op.permission}' right.`,
        ...(parameters.length ? { parameters } : {}),
        ...(op.body
          ? { requestBody: { required: !op.bodyOptional, content: { 'application/json': { schema: ref(op.body) } } } }
          : {}),
        responses: Object.fromEntries(
          Object.entries(op.responses).map(([status, [description, body]]) => [
            status,
            body ? { description, content: { 'application/json': { schema: ref(body) } } } : { description },
          ])
        ),
        security,
      };
    }
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'reelflow API',
      version: '1',
      description:
        'Turns a multi-shot story into a video. Roles: backend (start, cancel, budget, estimate, read, mint review ' +
        'links), reviewer (read, review). A signed review link grants read and review on its one story.',
    },
    servers: [{ url: serverUrl }],
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'A token from REELFLOW_API_TOKENS' },
        reviewLink: {
          type: 'apiKey',
          in: 'header',
          name: REVIEW_LINK_HEADER,
          description: '`<exp>.<sig>` of a signed review link (or ?exp=&sig= in the query)',
        },
      },
    },
  };
}
