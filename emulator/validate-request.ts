import {
  ASPECT_RATIOS,
  IMAGE_MODELS,
  LUMA_VIDEO_MODELS,
  RESOLUTIONS,
  type AspectRatio,
  type ImageModel,
  type LumaVideoModel,
  type Resolution,
} from '../common/models';
import { PROMPT_MAX, PROMPT_MIN } from '../common/story';
import { ApiError, badField } from './api-error';
import type { ImageSpec, KeyframeRef, VideoSpec } from './generation';

const DURATIONS = { '5s': 5, '9s': 9 } as const;

type Body = Record<string, unknown>;

function asBody(body: unknown): Body {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError(400, 'body: must be a JSON object');
  }
  return body as Body;
}

function oneOf<T extends string>(body: Body, field: string, allowed: readonly T[], fallback?: T): T {
  const value = body[field];
  if (value === undefined || value === null) {
    if (fallback !== undefined) return fallback;
    throw badField(field, `is required (one of ${allowed.join(', ')})`);
  }
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw badField(field, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

function prompt(body: Body): string {
  const value = body.prompt;
  if (typeof value !== 'string') throw badField('prompt', 'is required and must be a string');
  if (value.length < PROMPT_MIN || value.length > PROMPT_MAX) {
    throw badField('prompt', `must be ${PROMPT_MIN} to ${PROMPT_MAX} characters, got ${value.length}`);
  }
  return value;
}

function httpUrl(field: string, value: unknown): string {
  if (typeof value !== 'string') throw badField(field, 'must be a URL string');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw badField(field, `is not a valid URL: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badField(field, 'must be an http(s) URL');
  return value;
}

function callbackUrl(body: Body): string | undefined {
  const value = body.callback_url;
  return value === undefined || value === null ? undefined : httpUrl('callback_url', value);
}

function keyframe(field: string, value: unknown): KeyframeRef {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badField(field, "must be { type: 'image', url } or { type: 'generation', id }");
  }
  const frame = value as Body;
  if (frame.type === 'image') return { type: 'image', url: httpUrl(`${field}.url`, frame.url) };
  if (frame.type === 'generation') {
    if (typeof frame.id !== 'string' || frame.id.length === 0) throw badField(`${field}.id`, 'must be a generation id');
    return { type: 'generation', id: frame.id };
  }
  throw badField(`${field}.type`, `must be 'image' or 'generation', got ${JSON.stringify(frame.type)}`);
}

function keyframes(body: Body): { frame0?: KeyframeRef; frame1?: KeyframeRef } {
  const value = body.keyframes;
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw badField('keyframes', 'must be an object');
  const frames = value as Body;
  const unknown = Object.keys(frames).filter((k) => k !== 'frame0' && k !== 'frame1');
  if (unknown.length > 0) throw badField('keyframes', `only frame0 and frame1 are allowed, got ${unknown.join(', ')}`);
  return {
    frame0: frames.frame0 == null ? undefined : keyframe('keyframes.frame0', frames.frame0),
    frame1: frames.frame1 == null ? undefined : keyframe('keyframes.frame1', frames.frame1),
  };
}

/** Validates a video create body like Luma: a 400 whose detail names the first bad field. */
export function validateVideoRequest(raw: unknown): VideoSpec {
  const body = asBody(raw);
  const model = oneOf<LumaVideoModel>(body, 'model', LUMA_VIDEO_MODELS);
  const text = prompt(body);
  const aspectRatio = oneOf<AspectRatio>(body, 'aspect_ratio', ASPECT_RATIOS, '16:9');
  const duration = oneOf(body, 'duration', Object.keys(DURATIONS) as Array<keyof typeof DURATIONS>, '5s');
  const resolution = oneOf<Resolution>(body, 'resolution', RESOLUTIONS, '720p');
  if (body.generation_type != null && body.generation_type !== 'video') {
    throw badField('generation_type', "must be 'video'");
  }
  if (body.loop != null && typeof body.loop !== 'boolean') throw badField('loop', 'must be a boolean');
  const loop = body.loop === true;
  const { frame0, frame1 } = keyframes(body);
  if (loop && (frame0 || frame1)) throw badField('loop', 'cannot be combined with keyframes');
  return {
    kind: 'video',
    prompt: text,
    model,
    aspectRatio,
    durationSeconds: DURATIONS[duration],
    resolution,
    loop,
    frame0,
    frame1,
    callbackUrl: callbackUrl(body),
  };
}

/** Validates an image create body; reference images (image_ref, style_ref, character_ref) are accepted and ignored. */
export function validateImageRequest(raw: unknown): ImageSpec {
  const body = asBody(raw);
  const model = oneOf<ImageModel>(body, 'model', IMAGE_MODELS);
  const text = prompt(body);
  const aspectRatio = oneOf<AspectRatio>(body, 'aspect_ratio', ASPECT_RATIOS, '16:9');
  const format = oneOf(body, 'format', ['jpg', 'png'] as const, 'jpg');
  if (body.generation_type != null && body.generation_type !== 'image') {
    throw badField('generation_type', "must be 'image'");
  }
  return { kind: 'image', prompt: text, model, aspectRatio, format, callbackUrl: callbackUrl(body) };
}

/** Pagination of `GET /generations`; Luma's defaults are limit 100, offset 0. */
export function validateListQuery(query: Record<string, unknown>): { limit: number; offset: number } {
  const int = (field: string, fallback: number, min: number, max: number) => {
    const value = query[field];
    if (value === undefined || value === '') return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw badField(field, `must be an integer from ${min} to ${max}`);
    return n;
  };
  return { limit: int('limit', 100, 1, 1000), offset: int('offset', 0, 0, Number.MAX_SAFE_INTEGER) };
}
