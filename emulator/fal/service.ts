import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { VIDEO_MODEL_CATALOG } from '../../common/models';
import { clipDollars, roundMoney } from '../../common/pricing';
import type { Account, KeyCounters } from '../accounts';
import { ApiError } from '../api-error';
import { deliverCallback } from '../callbacks';
import { FaceService } from '../face-service';
import type { ActiveFaults } from '../faults';
import type { RenderedMedia } from '../generation';
import type { LedgerEntry } from '../luma-service';
import { seedFrom } from '../prng';
import { InputFramesError, renderGeneration } from '../render-generation';
import { Slots } from '../slots';
import type { FalEndpoint, FalRequestSpec } from './endpoints';
import type { FalEmulatorOptions } from './settings';

/** Queue states, as fal names them. */
export type FalStatus = 'IN_QUEUE' | 'IN_PROGRESS' | 'COMPLETED';

/** How a finished request ended: its output, or the error its result (and status) answers with. */
export type FalOutcome =
  | { ok: true; output: { video: { url: string; content_type: string; file_name: string; file_size?: number } } }
  | { ok: false; statusCode: number; body: { detail: unknown; error_type?: string }; error: string; errorType: string };

/** A request as the face keeps it. */
export interface FalRequestRecord {
  id: string;
  apiKey: string;
  seq: number;
  endpoint: FalEndpoint;
  /** The input exactly as submitted, echoed as `json_input` by the Platform API. */
  input: Record<string, unknown>;
  spec: FalRequestSpec;
  status: FalStatus;
  sentAt: Date;
  startedAt: Date | null;
  endedAt: Date | null;
  outcome: FalOutcome | null;
  /** What its result costs (charged only when it succeeds). */
  costCents: number;
  billed: boolean;
  cancelled: boolean;
  cancelledAt: Date | null;
  webhookUrl?: string;
  badClip: boolean;
  seed: number;
  dir: string;
  media: RenderedMedia | null;
}

/** A request in the stats listing (the ledger). */
export interface FalStatsRequest {
  id: string;
  endpoint_id: string;
  status: FalStatus;
  status_code: number | null;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  json_input: unknown;
  cost_cents: number;
  billed: boolean;
  /** Always false: fal charges results only, so there is nothing to refund. */
  refunded: false;
  /** Cancelled through the API (`deleted` so tooling reads both faces alike). */
  deleted: boolean;
  deleted_at: string | null;
}

/** Everything `GET /__emulator/stats` shows on the fal face. */
export interface FalEmulatorStats {
  requests: { total: number; byStatus: Record<string, number> };
  keys: Record<
    string,
    KeyCounters & { balanceCents: number; generations: FalStatsRequest[]; ledger: Record<string, LedgerEntry> }
  >;
  faults: ActiveFaults;
}

/** The fragment parameter reelflow puts its idempotency key in (on the START image URL); the ledger groups by it. */
const KEY_FRAGMENT = 'reelflow-key';
const START_FIELDS = ['image_url', 'first_frame_url'];

/** The idempotency key of a request: `reelflow-key` in its START image URL's fragment, or its own id. */
export function ledgerKeyOf(record: Pick<FalRequestRecord, 'input' | 'id'>): string {
  for (const field of START_FIELDS) {
    const url = record.input[field];
    if (typeof url === 'string' && url.includes('#')) {
      const key = new URLSearchParams(url.slice(url.indexOf('#') + 1)).get(KEY_FRAGMENT);
      if (key) return key;
    }
  }
  return record.id;
}

/** Failure texts that fal reports as a content refusal (422 `content_policy_violation`) rather than a runner error. */
const CONTENT_FAILURE = /content|moderation|flagged|blacklist|policy/i;

/** The emulated fal queue behind the HTTP routes: accounts, requests, their lifecycles, billing on success, faults. */
export class FalService extends FaceService {
  private readonly requests = new Map<string, FalRequestRecord>();
  private readonly running = new Map<string, Slots>();
  private readonly webhooks = new Set<Promise<unknown>>();
  private seq = 0;

  constructor(
    private readonly options: FalEmulatorOptions,
    private readonly dataDir: string
  ) {
    super(options);
  }

  /** The account of an `Authorization: Key <key>` header, or a 401 as fal answers it. */
  authenticate(authorization: string | undefined): Account {
    return this.accountOf(
      authorization,
      'Key',
      'Missing or malformed Authorization header: expected "Key <api key>"',
      'No user found for Key ID and Secret'
    );
  }

  /** Counts a request answered with an injected 429. */
  countInjectedRateLimit(account: Account): void {
    this.accounts.rateLimited(account, 'injected');
  }

  /** Accepts a request into the queue: never refused for concurrency (fal queues it), only for a spent balance. */
  submit(
    account: Account,
    endpoint: FalEndpoint,
    input: Record<string, unknown>,
    spec: FalRequestSpec,
    webhookUrl?: string
  ): FalRequestRecord {
    const model = VIDEO_MODEL_CATALOG.find((m) => m.providerModel === endpoint.id);
    const dollars = model
      ? clipDollars(this.options.prices, model.id, {
          durationSeconds: spec.durationSeconds,
          resolution: spec.resolution ?? '720p',
          frame0: true,
          frame1: true,
        })
      : 0;
    const costCents = roundMoney(dollars * 100);
    if (account.balanceCents <= 0 || account.balanceCents < costCents) {
      throw new ApiError(
        403,
        'User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing.'
      );
    }
    const id = randomUUID();
    const record: FalRequestRecord = {
      id,
      apiKey: account.key,
      seq: ++this.seq,
      endpoint,
      input: structuredClone(input),
      spec,
      status: 'IN_QUEUE',
      sentAt: new Date(),
      startedAt: null,
      endedAt: null,
      outcome: null,
      costCents,
      billed: false,
      cancelled: false,
      cancelledAt: null,
      webhookUrl,
      badClip: this.faults.badClip(),
      seed: seedFrom('video', endpoint.id, spec.video.prompt, this.seq),
      dir: path.join(this.dataDir, id),
      media: null,
    };
    this.accounts.admit(account, 'video', Date.now());
    this.requests.set(id, record);
    const plan = { failure: this.faults.plannedFailure(), extraMs: this.faults.extraDreamingMs() };
    const abort = new AbortController();
    const promise = this.live(record, account, plan, AbortSignal.any([this.closing.signal, abort.signal]));
    this.lifecycles.set(id, { promise, abort });
    return record;
  }

  /** A request of this key on this app, or a 404. */
  get(account: Account, app: string, id: string): FalRequestRecord {
    const record = this.requests.get(id);
    if (!record || record.apiKey !== account.key || record.endpoint.app !== app) {
      throw new ApiError(404, `Request ${id} not found`);
    }
    return record;
  }

  /** Requests ahead of this one in its key's queue. */
  queuePosition(record: FalRequestRecord): number {
    let ahead = 0;
    for (const r of this.requests.values()) {
      if (r.apiKey === record.apiKey && r.status === 'IN_QUEUE' && r.seq < record.seq) ahead++;
    }
    return ahead;
  }

  /** Cancels a request: removed from the queue, or stopped while running; never charged. */
  cancel(account: Account, app: string, id: string): 'CANCELLATION_REQUESTED' | 'ALREADY_COMPLETED' {
    const record = this.get(account, app, id);
    if (record.status === 'COMPLETED') return 'ALREADY_COMPLETED';
    record.cancelled = true;
    record.cancelledAt = new Date();
    this.lifecycles.get(id)?.abort.abort();
    this.finish(record, account, {
      ok: false,
      statusCode: 499,
      body: { detail: 'Request cancelled by the client', error_type: 'client_cancelled' },
      error: 'Request cancelled by the client',
      errorType: 'client_cancelled',
    });
    return 'CANCELLATION_REQUESTED';
  }

  /** Requests of one endpoint sent in [start, end), for the Platform API listing; in flight first, then newest. */
  listed(account: Account, endpointId: string, start: number, end: number): FalRequestRecord[] {
    return [...this.requests.values()]
      .filter(
        (r) =>
          r.apiKey === account.key &&
          r.endpoint.id === endpointId &&
          r.sentAt.getTime() >= start &&
          r.sentAt.getTime() < end
      )
      .sort(
        (a, b) =>
          (b.endedAt?.getTime() ?? Number.POSITIVE_INFINITY) - (a.endedAt?.getTime() ?? Number.POSITIVE_INFINITY) ||
          b.seq - a.seq
      );
  }

  /** A finished request's file for `GET /files/:id/:name`, by id alone (result URLs are public, like fal's CDN). */
  filePath(id: string, name: string): { file: string; name: string } | undefined {
    const record = this.requests.get(id);
    const media = record?.media;
    if (!record || !media || (media.video !== name && media.image !== name)) return undefined;
    return { file: path.join(record.dir, name), name };
  }

  /** Sets a key's balance (admin); false when the key is unknown. */
  setBalance(key: string, cents: number): boolean {
    const account = this.accounts.find(key);
    if (!account) return false;
    this.accounts.setBalance(account, cents);
    return true;
  }

  /** Counters, balances, requests (with their input) and faults. */
  stats(): FalEmulatorStats {
    const keys: FalEmulatorStats['keys'] = {};
    for (const account of this.accounts.all()) {
      const mine = [...this.requests.values()].filter((r) => r.apiKey === account.key).sort((a, b) => b.seq - a.seq);
      const ledger: Record<string, LedgerEntry> = {};
      for (const r of [...mine].reverse()) {
        const entry = (ledger[ledgerKeyOf(r)] ??= { billed: 0, netCents: 0, generationIds: [], deleted: 0 });
        if (r.billed) {
          entry.billed++;
          entry.netCents = roundMoney(entry.netCents + r.costCents);
        }
        entry.generationIds.push(r.id);
        if (r.cancelled) entry.deleted++;
      }
      keys[account.key] = {
        ...account.counters,
        balanceCents: account.balanceCents,
        generations: mine.map((r) => ({
          id: r.id,
          endpoint_id: r.endpoint.id,
          status: r.status,
          status_code: statusCodeOf(r),
          created_at: r.sentAt.toISOString(),
          started_at: r.startedAt?.toISOString() ?? null,
          ended_at: r.endedAt?.toISOString() ?? null,
          json_input: r.input,
          cost_cents: r.costCents,
          billed: r.billed,
          refunded: false,
          deleted: r.cancelled,
          deleted_at: r.cancelledAt?.toISOString() ?? null,
        })),
        ledger,
      };
    }
    const total = Object.values(this.requestsByStatus).reduce((a, b) => a + b, 0);
    return { requests: { total, byStatus: { ...this.requestsByStatus } }, keys, faults: this.faults.current() };
  }

  /** Zeroes request and per-key counters; requests, balances and faults stay. */
  resetStats(): void {
    this.requestsByStatus = {};
    this.accounts.resetCounters();
  }

  /** Base of the queue URLs the submit answer carries. */
  queueUrl(record: FalRequestRecord): string {
    return `${this.origin}/queue.fal.run/${record.endpoint.app}/requests/${record.id}`;
  }

  /** Stops every lifecycle and webhook, and waits for them to unwind. */
  async close(): Promise<void> {
    this.closing.abort(new Error('emulator closing'));
    await Promise.allSettled([...this.lifecycles.values()].map((l) => l.promise));
    await Promise.allSettled([...this.webhooks]);
  }

  private slotsOf(account: Account): Slots {
    let slots = this.running.get(account.key);
    if (!slots) this.running.set(account.key, (slots = new Slots(this.options.concurrency)));
    return slots;
  }

  private async live(
    record: FalRequestRecord,
    account: Account,
    plan: { failure?: string; extraMs: number },
    signal: AbortSignal
  ): Promise<void> {
    try {
      await sleep(this.options.queueMs, undefined, { signal });
      // Past the account's concurrency the request waits IN_QUEUE, as fal's does; it is never refused.
      await this.slotsOf(account).run(async () => {
        record.status = 'IN_PROGRESS';
        record.startedAt = new Date();
        const dreaming = sleep(this.options.latencyMs + plan.extraMs, undefined, { signal });
        if (plan.failure) {
          await dreaming;
          this.finish(record, account, failureOutcome(plan.failure));
          return;
        }
        const ctx = {
          dir: record.dir,
          options: { ...this.options, imageResolution: '540p' as const },
          findGeneration: () => undefined,
          signal,
        };
        const [media] = await Promise.all([
          this.renderSlots.run(
            () => renderGeneration({ spec: record.spec.video, seed: record.seed, badClip: record.badClip }, ctx),
            signal
          ),
          dreaming,
        ]);
        record.media = media;
        this.finish(record, account, {
          ok: true,
          output: {
            video: {
              url: `${this.origin}/files/${record.id}/${media.video}`,
              content_type: 'video/mp4',
              file_name: media.video ?? 'video.mp4',
            },
          },
        });
      }, signal);
    } catch (err) {
      if (signal.aborted) return;
      const unreadable = err instanceof InputFramesError;
      this.finish(
        record,
        account,
        unreadable
          ? {
              ok: false,
              statusCode: 422,
              body: {
                detail: [
                  {
                    loc: ['body', 'image_url'],
                    msg: `Could not read the image: ${err.message}`,
                    type: 'image_load_error',
                  },
                ],
              },
              error: `Could not read the image: ${err.message}`,
              errorType: 'image_load_error',
            }
          : failureOutcome(`Emulator render error: ${err instanceof Error ? err.message : String(err)}`)
      );
    } finally {
      this.lifecycles.delete(record.id);
      if (record.status === 'COMPLETED' && record.cancelled && record.media === null) {
        await rm(record.dir, { recursive: true, force: true }).catch(() => {});
      }
    }
  }

  /** Ends a request once: charges a success, leaves a failure or a cancel uncharged, and sends its webhook. */
  private finish(record: FalRequestRecord, account: Account, outcome: FalOutcome): void {
    if (record.status === 'COMPLETED') return;
    record.status = 'COMPLETED';
    record.endedAt = new Date();
    record.outcome = outcome;
    if (outcome.ok) {
      record.billed = true;
      this.accounts.charge(account, record.costCents);
    }
    this.accounts.land(account, 'video');
    if (record.webhookUrl) {
      const body = outcome.ok
        ? { request_id: record.id, gateway_request_id: record.id, status: 'OK', payload: outcome.output }
        : {
            request_id: record.id,
            gateway_request_id: record.id,
            status: 'ERROR',
            payload: outcome.body,
            error: outcome.error,
          };
      const delivery = deliverCallback(record.webhookUrl, body, this.closing.signal);
      this.webhooks.add(delivery);
      void delivery.finally(() => this.webhooks.delete(delivery));
    }
  }
}

/** The HTTP status a finished request's result answers with (null while it runs). */
export function statusCodeOf(record: FalRequestRecord): number | null {
  if (!record.outcome) return null;
  return record.outcome.ok ? 200 : record.outcome.statusCode;
}

/** An injected failure: a content refusal (422) when its text says so, a runner error (500) otherwise. */
function failureOutcome(reason: string): FalOutcome {
  if (CONTENT_FAILURE.test(reason)) {
    return {
      ok: false,
      statusCode: 422,
      body: {
        detail: [
          {
            loc: ['body', 'prompt'],
            msg: reason,
            type: 'content_policy_violation',
            url: 'https://docs.fal.ai/errors#content_policy_violation',
          },
        ],
      },
      error: reason,
      errorType: 'content_policy_violation',
    };
  }
  return {
    ok: false,
    statusCode: 500,
    body: { detail: reason, error_type: 'runner_server_error' },
    error: reason,
    errorType: 'runner_server_error',
  };
}
