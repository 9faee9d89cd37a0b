import type { AspectRatio, Resolution } from '../../common/models';
import { ApiError } from '../api-error';
import type { VideoSpec } from '../generation';

// The fal endpoints the face serves, with their input schemas as fal documents them (fal.ai/models/<id>/llms.txt).
// A bad input is a 422 whose `detail` lists field errors the way fal's pydantic models report them.

/** One field error, as fal returns it. */
export interface FieldError {
  loc: Array<string | number>;
  msg: string;
  type: string;
  input?: unknown;
}

/** A request the face accepted, ready to render. */
export interface FalRequestSpec {
  /** What to render: a clip between the START and END images. */
  video: VideoSpec;
  /** Seconds of output (priced per second). */
  durationSeconds: number;
  resolution?: Resolution;
}

/** A served endpoint: its id, the app part of its status paths, and how to read its input. */
export interface FalEndpoint {
  id: string;
  /** `<owner>/<app>`: status, result and cancel paths name only this (fal's documented rule). */
  app: string;
  validate(input: Record<string, unknown>): FalRequestSpec;
}

type Input = Record<string, unknown>;

class Checker {
  readonly errors: FieldError[] = [];
  constructor(private readonly input: Input) {}

  string(field: string, required: boolean, maxLength = 100_000): string | undefined {
    const value = this.input[field];
    if (value === undefined || value === null) {
      if (required) this.errors.push({ loc: ['body', field], msg: 'Field required', type: 'missing' });
      return undefined;
    }
    if (typeof value !== 'string') {
      this.errors.push({
        loc: ['body', field],
        msg: 'Input should be a valid string',
        type: 'string_type',
        input: value,
      });
      return undefined;
    }
    if (value.length > maxLength) {
      this.errors.push({
        loc: ['body', field],
        msg: `String should have at most ${maxLength} characters`,
        type: 'string_too_long',
        input: value,
      });
    }
    return value;
  }

  url(field: string, required: boolean): string | undefined {
    const value = this.string(field, required);
    if (value === undefined) return undefined;
    try {
      const url = new URL(value);
      if (url.protocol === 'http:' || url.protocol === 'https:') return value;
    } catch {
      // reported below
    }
    this.errors.push({ loc: ['body', field], msg: 'Input should be a valid URL', type: 'url_parsing', input: value });
    return undefined;
  }

  literal<T extends string>(field: string, allowed: readonly T[], fallback: T): T {
    const value = this.input[field];
    if (value === undefined || value === null) return fallback;
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
    this.errors.push({
      loc: ['body', field],
      msg: `Input should be ${allowed
        .map((a) => `'${a}'`)
        .join(', ')
        .replace(/, ([^,]*)$/, ' or $1')}`,
      type: 'literal_error',
      input: value,
    });
    return fallback;
  }

  boolean(field: string, fallback: boolean): boolean {
    const value = this.input[field];
    if (value === undefined || value === null) return fallback;
    if (typeof value === 'boolean') return value;
    this.errors.push({ loc: ['body', field], msg: 'Input should be a valid boolean', type: 'bool_type', input: value });
    return fallback;
  }

  number(field: string, min: number, max: number): void {
    const value = this.input[field];
    if (value === undefined || value === null) return;
    if (typeof value !== 'number' || value < min || value > max) {
      this.errors.push({
        loc: ['body', field],
        msg: `Input should be a number from ${min} to ${max}`,
        type: 'value_error',
        input: value,
      });
    }
  }

  /** Throws the 422 of every error found, as fal does. */
  done(): void {
    if (this.errors.length) {
      const first = this.errors[0];
      throw new ApiError(422, `${first.loc.slice(1).join('.')}: ${first.msg}`, {}, { detail: this.errors });
    }
  }
}

/** Kling 2.5 Turbo Pro image-to-video: `image_url` is the first frame, `tail_image_url` the last. */
const kling: FalEndpoint = {
  id: 'fal-ai/kling-video/v2.5-turbo/pro/image-to-video',
  app: 'fal-ai/kling-video',
  validate(input) {
    const c = new Checker(input);
    const prompt = c.string('prompt', true, 2500);
    const start = c.url('image_url', true);
    const end = c.url('tail_image_url', false);
    const duration = c.literal('duration', ['5', '10'] as const, '5');
    c.string('negative_prompt', false);
    c.number('cfg_scale', 0, 1);
    c.done();
    return {
      durationSeconds: Number(duration),
      video: {
        kind: 'video',
        prompt: prompt!,
        model: kling.id,
        // Kling takes no size: the clip follows its START image.
        aspectRatio: '16:9',
        resolution: '720p',
        size: 'start-frame',
        durationSeconds: Number(duration),
        loop: false,
        frame0: { type: 'image', url: start! },
        frame1: end ? { type: 'image', url: end } : undefined,
      },
    };
  },
};

/** Veo 3.1 Fast first-last-frame-to-video: `first_frame_url` and `last_frame_url` are both required. */
const veo: FalEndpoint = {
  id: 'fal-ai/veo3.1/fast/first-last-frame-to-video',
  app: 'fal-ai/veo3.1',
  validate(input) {
    const c = new Checker(input);
    const prompt = c.string('prompt', true, 20_000);
    const start = c.url('first_frame_url', true);
    const end = c.url('last_frame_url', true);
    const aspect = c.literal('aspect_ratio', ['auto', '16:9', '9:16'] as const, 'auto');
    const duration = c.literal('duration', ['4s', '6s', '8s'] as const, '8s');
    const resolution = c.literal('resolution', ['720p', '1080p', '4k'] as const, '720p');
    c.boolean('generate_audio', true);
    c.string('negative_prompt', false);
    c.done();
    const seconds = Number.parseInt(duration, 10);
    return {
      durationSeconds: seconds,
      resolution,
      video: {
        kind: 'video',
        prompt: prompt!,
        model: veo.id,
        // `auto` follows the first frame at fal; the face renders it landscape.
        aspectRatio: (aspect === 'auto' ? '16:9' : aspect) as AspectRatio,
        resolution,
        durationSeconds: seconds,
        loop: false,
        frame0: { type: 'image', url: start! },
        frame1: { type: 'image', url: end! },
      },
    };
  },
};

/** The endpoints the face serves, by endpoint id. */
export const FAL_ENDPOINTS: ReadonlyMap<string, FalEndpoint> = new Map([kling, veo].map((e) => [e.id, e]));
