import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Account, Family, KeyCounters } from './accounts';
import { ApiError, badField } from './api-error';
import { deliverCallback } from './callbacks';
import { generationCostCents } from './cost';
import type { ActiveFaults } from './faults';
import { FaceService } from './face-service';
import {
  generationJson,
  type GenerationJson,
  type GenerationRecord,
  type GenerationSpec,
  type GenerationState,
} from './generation';
import { GenerationStore } from './generation-store';
import { roundMoney } from '../common/pricing';
import { seedFrom } from './prng';
import { INPUT_FRAMES_FAILURE, InputFramesError, renderGeneration } from './render-generation';
import type { EmulatorOptions } from './settings';

/** A generation in the stats listing (the ledger): the API object plus what it cost and whether it was deleted. */
export interface StatsGeneration extends GenerationJson {
  cost_cents: number;
  refunded: boolean;
  deleted: boolean;
  deleted_at: string | null;
  /** When it stopped counting against the in-flight cap (completed, failed or stopped); null while in flight. */
  landed_at: string | null;
}

/** The generations of one idempotency key (the `key` parameter of their callback URL). */
export interface LedgerEntry {
  /** Accepted (billed) creates. */
  billed: number;
  /** Charged minus refunded, USD cents. */
  netCents: number;
  generationIds: string[];
  /** How many of them were deleted through the API. */
  deleted: number;
}

/** Everything `GET /__emulator/stats` shows. */
export interface EmulatorStats {
  requests: { total: number; byStatus: Record<string, number> };
  keys: Record<
    string,
    KeyCounters & { balanceCents: number; generations: StatsGeneration[]; ledger: Record<string, LedgerEntry> }
  >;
  faults: ActiveFaults;
}

/** The idempotency key of a create: its callback URL's `key` parameter, or the whole callback URL. */
export function idempotencyKeyOf(request: unknown): string | undefined {
  const url = (request as { callback_url?: unknown } | null)?.callback_url;
  if (typeof url !== 'string') return undefined;
  try {
    return new URL(url).searchParams.get('key') ?? url;
  } catch {
    return url;
  }
}

/** How a generation's life was decided at create time. */
interface LifePlan {
  failure?: string;
  dreamingMs: number;
}

/** The emulated Dream Machine service behind the HTTP routes: accounts, generations, their lifecycles and faults. */
export class LumaService extends FaceService {
  private readonly store = new GenerationStore();
  private readonly callbackChains = new Map<string, Promise<void>>();

  constructor(
    private readonly options: EmulatorOptions,
    private readonly dataDir: string
  ) {
    super(options);
  }

  /** The account of a Bearer token, or a 401. */
  authenticate(authorization: string | undefined): Account {
    return this.accountOf(
      authorization,
      'Bearer',
      'Missing Authorization header: expected "Bearer <api key>"',
      'Invalid API key'
    );
  }

  /** Accepts a generation: checks references, the in-flight cap and the balance, bills it and starts its life. */
  create(account: Account, spec: GenerationSpec, request: unknown): GenerationRecord {
    if (spec.kind === 'video') {
      for (const role of ['frame0', 'frame1'] as const) {
        const ref = spec[role];
        if (ref?.type === 'generation' && !this.store.get(account.key, ref.id)) {
          throw badField(`keyframes.${role}.id`, `no generation with id ${ref.id}`);
        }
      }
    }
    const family: Family = spec.kind;
    const { inFlight } = account.counters.families[family];
    const cap = family === 'video' ? this.options.concurrency : this.options.imageConcurrency;
    if (inFlight >= cap) {
      this.accounts.rateLimited(account, 'inFlight');
      throw new ApiError(
        429,
        `Too many ${family} generations in flight: ${inFlight} of ${cap} allowed per key; retry when one finishes`,
        { 'retry-after': '1' }
      );
    }
    const now = Date.now();
    const perMinute = family === 'video' ? this.options.createsPerMinute : this.options.imageCreatesPerMinute;
    const window = this.accounts.window(account, family, now);
    if (window.count >= perMinute) {
      this.accounts.rateLimited(account, 'perMinute');
      throw new ApiError(
        429,
        `Too many requests: ${window.count} ${family} creates in the last minute (limit ${perMinute} per minute)`,
        { 'retry-after': String(Math.max(1, Math.ceil((window.freesAt - now) / 1000))) }
      );
    }
    const cost = generationCostCents(spec, this.options.prices);
    if (cost > account.balanceCents) {
      throw new ApiError(
        400,
        `Insufficient credits: this generation costs ${cost} cents, the balance is ${account.balanceCents} cents`
      );
    }
    const id = randomUUID();
    const variation = this.store.nextVariation(account.key, spec.kind, spec.model, spec.prompt);
    const record: GenerationRecord = {
      id,
      apiKey: account.key,
      seq: this.store.nextSeq(),
      spec,
      request: structuredClone(request),
      state: 'queued',
      failureReason: null,
      createdAt: new Date(),
      assets: null,
      costCents: cost,
      refunded: false,
      deletedAt: null,
      badClip: spec.kind === 'video' && this.faults.badClip(),
      dir: path.join(this.dataDir, id),
      media: null,
      seed: seedFrom(spec.kind, spec.model, spec.aspectRatio, spec.prompt, variation),
    };
    const latency = spec.kind === 'image' ? this.options.imageLatencyMs : this.options.latencyMs;
    const plan: LifePlan = {
      failure: this.faults.plannedFailure(),
      dreamingMs: latency + this.faults.extraDreamingMs(),
    };
    this.accounts.accept(account, family, cost, now);
    this.store.add(record);
    const abort = new AbortController();
    const promise = this.live(record, account, plan, AbortSignal.any([this.closing.signal, abort.signal]));
    this.lifecycles.set(id, { promise, abort });
    return record;
  }

  /** A generation of this key, or a 404. */
  get(account: Account, id: string): GenerationRecord {
    const record = this.store.get(account.key, id);
    if (!record) throw new ApiError(404, `Generation ${id} not found`);
    return record;
  }

  /** One page of this key's generations, newest first. */
  list(account: Account, limit: number, offset: number): { items: GenerationRecord[]; hasMore: boolean } {
    return this.store.page(account.key, limit, offset);
  }

  /** Counts a request answered with an injected 429. */
  countInjectedRateLimit(account: Account): void {
    this.accounts.rateLimited(account, 'injected');
  }

  /** Deletes a generation; one still in flight is stopped (and not refunded). The ledger keeps it, marked deleted. */
  delete(account: Account, id: string): void {
    const record = this.get(account, id);
    this.store.remove(id);
    const life = this.lifecycles.get(id);
    life?.abort.abort();
    void (life?.promise ?? Promise.resolve()).then(() =>
      rm(record.dir, { recursive: true, force: true }).catch(() => {})
    );
  }

  /** A finished generation's file for `GET /files/:id/:name`, by id alone (asset URLs are public, like a CDN's). */
  filePath(id: string, name: string): { file: string; name: string } | undefined {
    const record = this.store.find(id);
    const media = record?.media;
    if (!record || !media || (media.video !== name && media.image !== name)) return undefined;
    return { file: path.join(record.dir, name), name };
  }

  /** The USD-cent balance of a key. */
  balance(account: Account): number {
    return account.balanceCents;
  }

  /** Sets a key's balance (admin); false when the key is unknown. */
  setBalance(key: string, cents: number): boolean {
    const account = this.accounts.find(key);
    if (!account) return false;
    this.accounts.setBalance(account, cents);
    return true;
  }

  /** Counters, balances, generations (with their request echo) and faults. */
  stats(): EmulatorStats {
    const keys: EmulatorStats['keys'] = {};
    for (const account of this.accounts.all()) {
      keys[account.key] = {
        ...account.counters,
        balanceCents: account.balanceCents,
        generations: this.store.allOf(account.key).map((g) => ({
          ...this.json(g),
          cost_cents: g.costCents,
          refunded: g.refunded,
          deleted: g.deletedAt !== null,
          deleted_at: g.deletedAt?.toISOString() ?? null,
          landed_at: g.landedAt?.toISOString() ?? null,
        })),
        ledger: this.ledgerOf(account.key),
      };
    }
    const total = Object.values(this.requestsByStatus).reduce((a, b) => a + b, 0);
    return { requests: { total, byStatus: { ...this.requestsByStatus } }, keys, faults: this.faults.current() };
  }

  /** A key's generations grouped by idempotency key: how many were billed and what they cost net. */
  private ledgerOf(apiKey: string): Record<string, LedgerEntry> {
    const ledger: Record<string, LedgerEntry> = {};
    for (const g of this.store.allOf(apiKey)) {
      const key = idempotencyKeyOf(g.request);
      if (key === undefined) continue;
      const entry = (ledger[key] ??= { billed: 0, netCents: 0, generationIds: [], deleted: 0 });
      entry.billed++;
      entry.netCents = roundMoney(entry.netCents + (g.refunded ? 0 : g.costCents));
      entry.generationIds.push(g.id);
      if (g.deletedAt) entry.deleted++;
    }
    return ledger;
  }

  /** Zeroes request and per-key counters; generations, balances and faults stay. */
  resetStats(): void {
    this.requestsByStatus = {};
    this.accounts.resetCounters();
  }

  /** The API object of a generation. */
  json(record: GenerationRecord): GenerationJson {
    return generationJson(record);
  }

  /** Stops every lifecycle, render and callback, and waits for them to unwind. */
  async close(): Promise<void> {
    this.closing.abort(new Error('emulator closing'));
    await Promise.allSettled([...this.lifecycles.values()].map((l) => l.promise));
    await Promise.allSettled([...this.callbackChains.values()]);
  }

  private async live(record: GenerationRecord, account: Account, plan: LifePlan, signal: AbortSignal): Promise<void> {
    try {
      await sleep(this.options.queueMs, undefined, { signal });
      this.enter(record, 'dreaming');
      const dreaming = sleep(plan.dreamingMs, undefined, { signal });
      if (plan.failure) {
        await dreaming;
        this.fail(record, account, plan.failure);
        return;
      }
      const ctx = {
        dir: record.dir,
        options: this.options,
        findGeneration: (id: string) => this.store.get(account.key, id),
        signal,
      };
      const [media] = await Promise.all([this.renderSlots.run(() => renderGeneration(record, ctx), signal), dreaming]);
      record.media = media;
      const url = (name: string) => `${this.origin}/files/${record.id}/${name}`;
      record.assets = media.video
        ? { video: url(media.video), image: url(media.image), progress_video: url(media.video) }
        : { image: url(media.image) };
      this.enter(record, 'completed');
    } catch (err) {
      if (signal.aborted) return;
      const reason =
        err instanceof InputFramesError
          ? INPUT_FRAMES_FAILURE
          : `Emulator render error: ${err instanceof Error ? err.message : String(err)}`;
      this.fail(record, account, reason);
    } finally {
      this.accounts.land(account, record.spec.kind);
      record.landedAt = new Date();
      this.lifecycles.delete(record.id);
    }
  }

  private fail(record: GenerationRecord, account: Account, reason: string): void {
    record.failureReason = reason;
    if (!record.refunded) {
      record.refunded = true;
      this.accounts.refund(account, record.costCents);
    }
    this.enter(record, 'failed');
  }

  /** Moves a generation to a new state and queues its callback behind any earlier one, so they arrive in order. */
  private enter(record: GenerationRecord, state: GenerationState): void {
    record.state = state;
    const url = record.spec.callbackUrl;
    if (!url) return;
    const body = this.json(record);
    const previous = this.callbackChains.get(record.id) ?? Promise.resolve();
    const next = previous.then(async () => {
      await deliverCallback(url, body, this.closing.signal);
    });
    this.callbackChains.set(record.id, next);
    void next.then(() => {
      if (this.callbackChains.get(record.id) === next) this.callbackChains.delete(record.id);
    });
  }
}
