import { availableParallelism } from 'node:os';
import { DEFAULT_PRICES, type PriceTable } from '../../common/pricing';
import { definedOnly, envReader } from '../env-settings';

/** Every environment variable the fal face reads; nothing else in emulator/fal/ names one. */
export const FAL_EMULATOR_ENV = {
  host: 'FAL_EMULATOR_HOST',
  port: 'FAL_EMULATOR_PORT',
  publicOrigin: 'FAL_EMULATOR_PUBLIC_ORIGIN',
  keys: 'FAL_EMULATOR_KEYS',
  queueMs: 'FAL_EMULATOR_QUEUE_MS',
  latencyMs: 'FAL_EMULATOR_LATENCY_MS',
  concurrency: 'FAL_EMULATOR_CONCURRENCY',
  balanceCents: 'FAL_EMULATOR_BALANCE_CENTS',
  dataDir: 'FAL_EMULATOR_DATA_DIR',
  renderConcurrency: 'FAL_EMULATOR_RENDER_CONCURRENCY',
} as const;

/** The key accepted when no keys are configured; for local use only. */
export const DEFAULT_FAL_EMULATOR_KEY = 'fal-emulator-key';

/** Port the CLI and `npm run dev` use for the fal face. */
export const DEFAULT_FAL_CLI_PORT = 7864;

/** Everything that shapes one fal face. */
export interface FalEmulatorOptions {
  host: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Origin put in result file URLs, when clients reach the emulator under another name than host:port. */
  publicOrigin: string | undefined;
  /** Accepted API keys (`Authorization: Key <key>`); each key is its own account. */
  keys: string[];
  /** How long a request stays IN_QUEUE at least. */
  queueMs: number;
  /** How long a request stays IN_PROGRESS at least (rendering may take longer). */
  latencyMs: number;
  /** Requests IN_PROGRESS at once per key (fal's concurrency limit); the rest wait IN_QUEUE, never refused. */
  concurrency: number;
  /** Starting balance of every key, in USD cents; an account at 0 is refused with 403. */
  balanceCents: number;
  /** Where media files go; undefined means a temporary directory removed on close. */
  dataDir: string | undefined;
  /** ffmpeg renders running at once across all keys. */
  renderConcurrency: number;
  /** Time cap of one keyframe download. */
  keyframeTimeoutMs: number;
  /** Size cap of one keyframe download. */
  keyframeMaxBytes: number;
  /** Price table (its `dollars` section prices fal's models). */
  prices: PriceTable;
}

/** Defaults chosen so tests run fast; see docs/emulator.md. */
export function defaultFalEmulatorOptions(): FalEmulatorOptions {
  return {
    host: '127.0.0.1',
    port: 0,
    publicOrigin: undefined,
    keys: [DEFAULT_FAL_EMULATOR_KEY],
    queueMs: 50,
    latencyMs: 300,
    concurrency: 10,
    balanceCents: 100_000,
    dataDir: undefined,
    renderConcurrency: Math.max(1, availableParallelism()),
    keyframeTimeoutMs: 10_000,
    keyframeMaxBytes: 20 * 1024 * 1024,
    prices: DEFAULT_PRICES,
  };
}

/** Fills in defaults and rejects values that cannot work. */
export function resolveFalEmulatorOptions(options: Partial<FalEmulatorOptions> = {}): FalEmulatorOptions {
  const resolved: FalEmulatorOptions = { ...defaultFalEmulatorOptions(), ...definedOnly(options) };
  if (resolved.keys.length === 0) throw new Error('the fal emulator needs at least one API key');
  if (!(resolved.concurrency >= 1) || !(resolved.renderConcurrency >= 1)) {
    throw new Error('concurrency limits must be at least 1');
  }
  return resolved;
}

/** Reads the fal face settings that are set in `env`; unset ones are left out so defaults apply. */
export function falEmulatorOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<FalEmulatorOptions> {
  const { read, num, list } = envReader(env);
  const options: Partial<FalEmulatorOptions> = {
    host: read(FAL_EMULATOR_ENV.host),
    port: num(FAL_EMULATOR_ENV.port, 0, 65535),
    publicOrigin: read(FAL_EMULATOR_ENV.publicOrigin)?.replace(/\/+$/, ''),
    keys: list(FAL_EMULATOR_ENV.keys),
    queueMs: num(FAL_EMULATOR_ENV.queueMs, 0),
    latencyMs: num(FAL_EMULATOR_ENV.latencyMs, 0),
    concurrency: num(FAL_EMULATOR_ENV.concurrency, 1),
    balanceCents: num(FAL_EMULATOR_ENV.balanceCents, 0),
    dataDir: read(FAL_EMULATOR_ENV.dataDir),
    renderConcurrency: num(FAL_EMULATOR_ENV.renderConcurrency, 1),
  };
  return definedOnly(options);
}
