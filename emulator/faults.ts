import { z } from 'zod';
import { seededRandom } from './prng';

const rate = z.number().min(0).max(1).default(0);
const count = z.number().int().min(0).default(0);

/** Fault settings as `POST /__emulator/faults` accepts them; every field is optional and off by default. */
export const faultConfigSchema = z
  .object({
    /** Share of accepted generations that end `failed` (and are refunded). */
    failRate: rate,
    /** The next N accepted generations end `failed`. */
    failNext: count,
    /** failure_reason of injected failures. */
    failureReason: z.string().min(1).default('Prompt processing failed'),
    /** Share of requests answered 429 before anything is recorded. */
    rateLimitRate: rate,
    /** The next N requests are answered 429. */
    rateLimitNext: count,
    /** Share of requests answered with a 5xx before anything is recorded. */
    serverErrorRate: rate,
    /** The next N requests are answered with a 5xx. */
    serverErrorNext: count,
    /** Status code of injected server errors. */
    serverErrorStatus: z.number().int().min(500).max(599).default(500),
    /** Share of creates that are recorded and billed, then answered by closing the socket (the lost response). */
    dropResponseRate: rate,
    /** The next N creates lose their response that way. */
    dropNext: count,
    /** Delay added before each affected response is sent (a create is recorded before the delay). */
    extraLatencyMs: z.number().int().min(0).max(600_000).default(0),
    /** Time added to the dreaming phase of each generation created while set. */
    extraDreamingMs: z.number().int().min(0).max(3_600_000).default(0),
    /** The next N list requests (`GET /generations`) wait `slowListMs` before answering (a list call that hangs). */
    slowListNext: count,
    /** How long a slowed list waits; by default long enough to outlast any client's patience. */
    slowListMs: z.number().int().min(0).max(3_600_000).default(600_000),
    /** Share of accepted creates that are recorded and billed, then answered only after `slowCreateMs`. */
    slowCreateRate: rate,
    /** How long a slowed create's answer waits. */
    slowCreateMs: z.number().int().min(0).max(600_000).default(30_000),
    /** The next N accepted video generations complete with a clip that is not what was asked (half the size). */
    badClipNext: count,
    /** Which API requests 429, 5xx and latency faults hit: creates only, or every API request. */
    scope: z.enum(['creates', 'all']).default('creates'),
    /** Seed of the generator behind the *Rate fields, so a run can be repeated. */
    seed: z.number().int().default(1),
  })
  .strict();

/** Fault settings a test sends (all optional). */
export type FaultConfig = z.input<typeof faultConfigSchema>;
/** Fault settings in force, with the remaining "next" counters. */
export type ActiveFaults = z.output<typeof faultConfigSchema>;

/** What the fault layer decided for one API request. */
export type RequestFault = { kind: 'none' } | { kind: 'rate-limit' } | { kind: 'server-error'; status: number };

/** Holds the fault settings and draws the decisions, deterministic for a given seed and request order. */
export class FaultInjector {
  private config: ActiveFaults = faultConfigSchema.parse({});
  private random = seededRandom(this.config.seed);

  /** Replaces every fault setting; fields left out are off. Throws a ZodError on a bad shape. */
  set(input: unknown): ActiveFaults {
    this.config = faultConfigSchema.parse(input ?? {});
    this.random = seededRandom(this.config.seed);
    return this.current();
  }

  /** Turns every fault off. */
  clear(): ActiveFaults {
    return this.set({});
  }

  /** The settings in force, counters included. */
  current(): ActiveFaults {
    return { ...this.config };
  }

  private hits(isCreate: boolean): boolean {
    return isCreate || this.config.scope === 'all';
  }

  private draw(probability: number): boolean {
    // Only draw when the rate is on, so turning one fault on does not shift another's sequence.
    return probability > 0 && this.random() < probability;
  }

  /** Whether this request is answered with an injected 5xx or 429 instead of being handled. */
  requestFault(isCreate: boolean): RequestFault {
    if (!this.hits(isCreate)) return { kind: 'none' };
    const c = this.config;
    if (c.serverErrorNext > 0) {
      c.serverErrorNext--;
      return { kind: 'server-error', status: c.serverErrorStatus };
    }
    if (c.rateLimitNext > 0) {
      c.rateLimitNext--;
      return { kind: 'rate-limit' };
    }
    if (this.draw(c.serverErrorRate)) return { kind: 'server-error', status: c.serverErrorStatus };
    if (this.draw(c.rateLimitRate)) return { kind: 'rate-limit' };
    return { kind: 'none' };
  }

  /** Whether an accepted create loses its response. */
  dropResponse(): boolean {
    if (this.config.dropNext > 0) {
      this.config.dropNext--;
      return true;
    }
    return this.draw(this.config.dropResponseRate);
  }

  /** The failure_reason an accepted generation is doomed to, or undefined when it may succeed. */
  plannedFailure(): string | undefined {
    if (this.config.failNext > 0) {
      this.config.failNext--;
      return this.config.failureReason;
    }
    return this.draw(this.config.failRate) ? this.config.failureReason : undefined;
  }

  /** Delay before answering a list request. */
  listDelayMs(): number {
    if (this.config.slowListNext <= 0) return 0;
    this.config.slowListNext--;
    return this.config.slowListMs;
  }

  /** Delay before answering an accepted create (drawn per create). */
  slowCreateDelayMs(): number {
    return this.draw(this.config.slowCreateRate) ? this.config.slowCreateMs : 0;
  }

  /** Whether an accepted video generation is doomed to a clip that is not what was asked. */
  badClip(): boolean {
    if (this.config.badClipNext <= 0) return false;
    this.config.badClipNext--;
    return true;
  }

  /** Delay before answering a request. */
  responseDelayMs(isCreate: boolean): number {
    return this.hits(isCreate) ? this.config.extraLatencyMs : 0;
  }

  /** Extra dreaming time of a generation created now. */
  extraDreamingMs(): number {
    return this.config.extraDreamingMs;
  }
}
