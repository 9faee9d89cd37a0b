import { roundMoney } from '../common/pricing';

/** Per-key counters shown by `GET /__emulator/stats`; money in USD cents. */
export interface KeyCounters {
  created: number;
  billed: number;
  refunded: number;
  inFlight: number;
  maxInFlight: number;
  creditsCharged: number;
  creditsRefunded: number;
}

/** One API key's account: its balance and what happened to it. */
export interface Account {
  key: string;
  balanceCents: number;
  counters: KeyCounters;
}

function zeroCounters(inFlight = 0): KeyCounters {
  return {
    created: 0,
    billed: 0,
    refunded: 0,
    inFlight,
    maxInFlight: inFlight,
    creditsCharged: 0,
    creditsRefunded: 0,
  };
}

/** The accounts of the accepted keys: balances, in-flight counts and billing counters. */
export class Accounts {
  private readonly byKey = new Map<string, Account>();

  constructor(keys: string[], startingBalanceCents: number) {
    for (const key of keys) this.byKey.set(key, { key, balanceCents: startingBalanceCents, counters: zeroCounters() });
  }

  /** The account of a key, or undefined for a key the emulator does not accept. */
  find(key: string): Account | undefined {
    return this.byKey.get(key);
  }

  /** Every account, in configuration order. */
  all(): Account[] {
    return [...this.byKey.values()];
  }

  /** Records an accepted generation: charged, and one more in flight. */
  accept(account: Account, costCents: number): void {
    const c = account.counters;
    account.balanceCents = roundMoney(account.balanceCents - costCents);
    c.created++;
    c.billed++;
    c.creditsCharged = roundMoney(c.creditsCharged + costCents);
    c.inFlight++;
    c.maxInFlight = Math.max(c.maxInFlight, c.inFlight);
  }

  /** Gives back the price of a failed generation. */
  refund(account: Account, costCents: number): void {
    account.balanceCents = roundMoney(account.balanceCents + costCents);
    account.counters.refunded++;
    account.counters.creditsRefunded = roundMoney(account.counters.creditsRefunded + costCents);
  }

  /** A generation of this account left the queued/dreaming states. */
  land(account: Account): void {
    account.counters.inFlight = Math.max(0, account.counters.inFlight - 1);
  }

  /** Sets a key's balance (admin). */
  setBalance(account: Account, cents: number): void {
    account.balanceCents = roundMoney(cents);
  }

  /** Zeroes the counters; generations still in flight stay counted. */
  resetCounters(): void {
    for (const account of this.byKey.values()) account.counters = zeroCounters(account.counters.inFlight);
  }
}
