import type { ActiveFaults, FaultConfig } from './faults';
import type { FalEmulatorStats } from './fal/service';
import type { EmulatorStats } from './luma-service';

/** Path prefix of the admin endpoints (kept here too so this client pulls in no server code). */
const ADMIN_PATH = '/__emulator';

async function call<T>(origin: string, method: string, endpoint: string, body?: unknown): Promise<T> {
  const url = `${origin.replace(/\/+$/, '')}${ADMIN_PATH}/${endpoint}`;
  const response = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url} answered ${response.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Replaces the emulator's fault settings (fields left out are off); resolves with the settings in force. */
export function setFaults(origin: string, faults: FaultConfig): Promise<ActiveFaults> {
  return call(origin, 'POST', 'faults', faults);
}

/** Turns every fault off. */
export function clearFaults(origin: string): Promise<ActiveFaults> {
  return call(origin, 'DELETE', 'faults');
}

/** The fault settings in force, with what is left of the "next N" counters. */
export function getFaults(origin: string): Promise<ActiveFaults> {
  return call(origin, 'GET', 'faults');
}

/** Request counts by status, per-key counters, balances and generations (with their request echo). */
export function getStats(origin: string): Promise<EmulatorStats> {
  return call(origin, 'GET', 'stats');
}

/** The fal face's stats: the same endpoint and shape (counters, ledger by idempotency key), with fal's requests. */
export function getFalStats(origin: string): Promise<FalEmulatorStats> {
  return call(origin, 'GET', 'stats');
}

/** Zeroes the request and per-key counters (generations, balances and faults stay); resolves with the fresh stats. */
export function resetStats(origin: string): Promise<EmulatorStats> {
  return call(origin, 'POST', 'reset-stats');
}

/** Sets the USD-cent balance of one key. */
export function setBalance(origin: string, key: string, cents: number): Promise<{ key: string; balanceCents: number }> {
  return call(origin, 'POST', 'balance', { key, cents });
}
