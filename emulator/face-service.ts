import { Accounts, type Account } from './accounts';
import { ApiError } from './api-error';
import { FaultInjector } from './faults';
import { Slots } from './slots';

// What every face's service keeps the same way: its accounts and the shared fault injector, the renderer's slots,
// the lifecycles it runs and their stop signal, answered requests by status, and the origin its URLs are built on.

/** One running lifecycle (a generation's or a request's) and how to stop it. */
export interface Lifecycle {
  promise: Promise<void>;
  abort: AbortController;
}

/** The state and the small rules every face's service shares; each provider's service adds its API on top. */
export abstract class FaceService {
  readonly faults = new FaultInjector();
  protected readonly accounts: Accounts;
  protected readonly renderSlots: Slots;
  protected readonly closing = new AbortController();
  protected readonly lifecycles = new Map<string, Lifecycle>();
  protected requestsByStatus: Record<string, number> = {};
  protected origin = '';

  constructor(settings: { keys: string[]; balanceCents: number; renderConcurrency: number }) {
    this.accounts = new Accounts(settings.keys, settings.balanceCents);
    this.renderSlots = new Slots(settings.renderConcurrency);
  }

  /** Sets the origin the face's URLs are built on, known only once the server listens. */
  setOrigin(origin: string): void {
    this.origin = origin.replace(/\/+$/, '');
  }

  /** Counts an answered (or dropped) API request by status. */
  countRequest(status: number | 'dropped'): void {
    const key = String(status);
    this.requestsByStatus[key] = (this.requestsByStatus[key] ?? 0) + 1;
  }

  /** The account of an `Authorization: <scheme> <key>` header, or a 401 with the provider's own words. */
  protected accountOf(authorization: string | undefined, scheme: string, missing: string, invalid: string): Account {
    const match = new RegExp(`^${scheme}\\s+(.+)$`, 'i').exec(authorization?.trim() ?? '');
    if (!match) throw new ApiError(401, missing);
    const account = this.accounts.find(match[1].trim());
    if (!account) throw new ApiError(401, invalid);
    return account;
  }
}
