import { roundMoney } from '../common/pricing';

/** The model families Luma limits separately: Ray video models and Photon image models. */
export type Family = 'video' | 'image';
const FAMILIES: Family[] = ['video', 'image'];

/** Counters of one model family of one key. */
export interface FamilyCounters {
  created: number;
  inFlight: number;
  maxInFlight: number;
}

/** Why creates were answered 429: an injected fault, the in-flight limit, or the creates-per-minute limit. */
export interface RateLimitCounts {
  injected: number;
  inFlight: number;
  perMinute: number;
}

/** Per-key counters shown by `GET /__emulator/stats`; money in USD cents. */
export interface KeyCounters {
  created: number;
  billed: number;
  refunded: number;
  /** All families together. */
  inFlight: number;
  maxInFlight: number;
  creditsCharged: number;
  creditsRefunded: number;
  families: Record<Family, FamilyCounters>;
  rateLimited: RateLimitCounts;
}

/** One API key's account: its balance, what happened to it, and its recent creates per family. */
export interface Account {
  key: string;
  balanceCents: number;
  counters: KeyCounters;
  /** Times (epoch ms) of accepted creates within the last minute, per family. */
  recentCreates: Record<Family, number[]>;
}

function zeroCounters(previous?: KeyCounters): KeyCounters {
  const family = (f: Family): FamilyCounters => {
    const inFlight = previous?.families[f].inFlight ?? 0;
    return { created: 0, inFlight, maxInFlight: inFlight };
  };
  const inFlight = previous?.inFlight ?? 0;
  return {
    created: 0,
    billed: 0,
    refunded: 0,
    inFlight,
    maxInFlight: inFlight,
    creditsCharged: 0,
    creditsRefunded: 0,
    families: { video: family('video'), image: family('image') },
    rateLimited: { injected: 0, inFlight: 0, perMinute: 0 },
  };
}

/** The accounts of the accepted keys: balances, in-flight counts, per-minute windows and billing counters. */
export class Accounts {
  private readonly byKey = new Map<string, Account>();

  constructor(keys: string[], startingBalanceCents: number) {
    for (const key of keys) {
      this.byKey.set(key, {
        key,
        balanceCents: startingBalanceCents,
        counters: zeroCounters(),
        recentCreates: { video: [], image: [] },
      });
    }
  }

  /** The account of a key, or undefined for a key the emulator does not accept. */
  find(key: string): Account | undefined {
    return this.byKey.get(key);
  }

  /** Every account, in configuration order. */
  all(): Account[] {
    return [...this.byKey.values()];
  }

  /** Accepted creates of a family in the 60 s before `now`, and when the oldest of them leaves the window. */
  window(account: Account, family: Family, now: number): { count: number; freesAt: number } {
    const recent = account.recentCreates[family].filter((t) => t > now - 60_000);
    account.recentCreates[family] = recent;
    return { count: recent.length, freesAt: (recent[0] ?? now) + 60_000 };
  }

  /** Records an accepted generation: charged, one more in flight, one more create in the family's window. */
  accept(account: Account, family: Family, costCents: number, now: number): void {
    this.admit(account, family, now);
    this.charge(account, costCents);
  }

  /** Charges a generation (at create for Luma; when its result is ready for fal). */
  charge(account: Account, costCents: number): void {
    const c = account.counters;
    account.balanceCents = roundMoney(account.balanceCents - costCents);
    c.billed++;
    c.creditsCharged = roundMoney(c.creditsCharged + costCents);
  }

  /** Records an accepted create, not yet charged: one more in flight, one more create in the family's window. */
  admit(account: Account, family: Family, now: number): void {
    const c = account.counters;
    c.created++;
    c.inFlight++;
    c.maxInFlight = Math.max(c.maxInFlight, c.inFlight);
    const f = c.families[family];
    f.created++;
    f.inFlight++;
    f.maxInFlight = Math.max(f.maxInFlight, f.inFlight);
    account.recentCreates[family].push(now);
  }

  /** Counts a create answered 429, by cause. */
  rateLimited(account: Account, cause: keyof RateLimitCounts): void {
    account.counters.rateLimited[cause]++;
  }

  /** Gives back the price of a failed generation. */
  refund(account: Account, costCents: number): void {
    account.balanceCents = roundMoney(account.balanceCents + costCents);
    account.counters.refunded++;
    account.counters.creditsRefunded = roundMoney(account.counters.creditsRefunded + costCents);
  }

  /** A generation of this account left the queued/dreaming states. */
  land(account: Account, family: Family): void {
    account.counters.inFlight = Math.max(0, account.counters.inFlight - 1);
    const f = account.counters.families[family];
    f.inFlight = Math.max(0, f.inFlight - 1);
  }

  /** Sets a key's balance (admin). */
  setBalance(account: Account, cents: number): void {
    account.balanceCents = roundMoney(cents);
  }

  /** Zeroes the counters; generations still in flight stay counted. */
  resetCounters(): void {
    for (const account of this.byKey.values()) account.counters = zeroCounters(account.counters);
  }
}

export { FAMILIES };
