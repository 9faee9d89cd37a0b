/**
 * The bench's stack: the real-process stack of dev/process-stack.ts (Temporal dev server on SQLite, the emulator,
 * the HTTP server, worker processes) with the production timings, except where a figure needs the provider's
 * in-flight cap to be the only limit (the per-minute windows are opened wide) and the clip latency the part asks
 * for. Also reads the emulator's stats over HTTP (bench/ does not import emulator/).
 */
import { Runtime, DefaultLogger } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ReelflowClient } from '../client/reelflow-client';
import { startProcessStack, type ProcessStack } from '../dev/process-stack';

/** The account cap every part runs against (the published one). */
export const VIDEO_CAP = 10;
/** A second emulator account, for the semaphore baseline (its own cap, its own 429s). */
export const BASELINE_KEY = 'bench-baseline-key';

/** A running bench stack and a client on it. */
export interface BenchStack {
  stack: ProcessStack;
  client: ReelflowClient;
  stop(): Promise<void>;
}

/** Starts the stack: `workers` worker processes, the emulator making a 5 s clip in at least `clipLatencyMs`. */
export async function startBenchStack(opts: {
  outDir: string;
  workers: number;
  clipLatencyMs: number;
  log: (line: string) => void;
}): Promise<BenchStack> {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
  } catch {
    // installed already (a second stack in one run)
  }
  const tokens = `bench-backend-${randomBytes(8).toString('hex')}:backend`;
  const stack = await startProcessStack({
    outDir: opts.outDir,
    workers: opts.workers,
    env: {
      REELFLOW_TASK_QUEUE_PREFIX: 'bench',
      REELFLOW_API_TOKENS: tokens,
      REELFLOW_SIGNING_SECRET: randomBytes(32).toString('hex'),
      // INFO: the stack knows a worker is ready by its "Worker state changed" line.
      REELFLOW_LOG_LEVEL: 'INFO',
      LUMA_MAX_IN_FLIGHT: String(VIDEO_CAP),
      // The cap is the limit measured: the per-minute windows (20 and 80 a minute) would bind first at these latencies.
      LUMA_CREATES_PER_MINUTE: '600',
      LUMA_IMAGE_CREATES_PER_MINUTE: '2400',
      // Loopback keyframe paths and URLs of the bench's own files.
      REELFLOW_ALLOW_PRIVATE_INPUTS: 'true',
    },
    emulatorEnv: {
      LUMA_EMULATOR_KEYS: `chaos-luma-key,${BASELINE_KEY}`,
      LUMA_EMULATOR_LATENCY_MS: String(opts.clipLatencyMs),
      LUMA_EMULATOR_IMAGE_LATENCY_MS: '2000',
      LUMA_EMULATOR_QUEUE_MS: '500',
      LUMA_EMULATOR_CONCURRENCY: String(VIDEO_CAP),
      LUMA_EMULATOR_IMAGE_CONCURRENCY: '40',
      LUMA_EMULATOR_CREATES_PER_MINUTE: '600',
      LUMA_EMULATOR_IMAGE_CREATES_PER_MINUTE: '2400',
      LUMA_EMULATOR_RENDER_CONCURRENCY: '2',
      LUMA_EMULATOR_BALANCE_CENTS: '100000000',
    },
    onUnexpectedExit: (exit) => opts.log(`process ${exit.name} died: code ${exit.code}, signal ${exit.signal}`),
  });
  const client = await ReelflowClient.connect(stack.config);
  return {
    stack,
    client,
    async stop() {
      await client.close().catch(() => undefined);
      await stack.stop();
    },
  };
}

const generationSchema = z.object({
  id: z.string(),
  generation_type: z.enum(['video', 'image']),
  state: z.string(),
  created_at: z.string(),
  landed_at: z.string().nullable().optional(),
});
const accountSchema = z.object({
  rateLimited: z.object({ injected: z.number(), inFlight: z.number(), perMinute: z.number() }),
  generations: z.array(generationSchema),
  ledger: z.record(z.string(), z.object({ generationIds: z.array(z.string()) })),
});
/** The parts of the emulator's `GET /__emulator/stats` the bench reads (docs/emulator.md). */
const statsSchema = z.object({
  requests: z.object({ byStatus: z.record(z.string(), z.number()) }),
  keys: z.record(z.string(), accountSchema),
});
/** One account of the emulator's stats. */
export type EmulatorAccount = z.infer<typeof accountSchema>;
/** One generation of an account. */
export type EmulatorGeneration = z.infer<typeof generationSchema>;

/** One account's stats: its 429s by cause, its generations (with when they landed) and its ledger. */
export async function emulatorAccount(stack: ProcessStack, key = stack.lumaKey): Promise<EmulatorAccount> {
  const answer = await fetch(`${stack.emulatorOrigin}/__emulator/stats`);
  if (!answer.ok) throw new Error(`emulator stats: HTTP ${answer.status}`);
  const account = statsSchema.parse(await answer.json()).keys[key];
  if (!account) throw new Error(`emulator stats: no account ${key}`);
  return account;
}

/** Zeroes the emulator's counters (429s); generations stay listed. */
export async function resetEmulatorCounters(stack: ProcessStack): Promise<void> {
  const answer = await fetch(`${stack.emulatorOrigin}/__emulator/reset-stats`, { method: 'POST' });
  if (!answer.ok) throw new Error(`emulator reset-stats: HTTP ${answer.status}`);
}

/** 429s an account was answered, all causes. */
export function tooManyRequests(account: EmulatorAccount): number {
  const r = account.rateLimited;
  return r.injected + r.inFlight + r.perMinute;
}

/** The video generations paid for by these stories (their idempotency keys start with the story id). */
export function videoGenerationsOf(account: EmulatorAccount, storyIds: string[]): EmulatorGeneration[] {
  const prefixes = storyIds.map((id) => `${id}/`);
  const ids = new Set(
    Object.entries(account.ledger)
      .filter(([key]) => prefixes.some((p) => key.startsWith(p)))
      .flatMap(([, e]) => e.generationIds)
  );
  return account.generations.filter((g) => g.generation_type === 'video' && ids.has(g.id));
}

/** A generation's time in flight at the provider (created → landed), ms since the epoch. */
export function inFlightSpan(g: EmulatorGeneration, now = Date.now()): { start: number; end: number } {
  return { start: Date.parse(g.created_at), end: g.landed_at ? Date.parse(g.landed_at) : now };
}
