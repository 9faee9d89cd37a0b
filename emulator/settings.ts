import { availableParallelism } from 'node:os';
import { DEFAULT_PRICES, type PriceTable } from '../common/pricing';
import { RESOLUTIONS, type Resolution } from '../common/story';
import { definedOnly, envReader } from './env-settings';

/** Every environment variable the emulator reads; nothing else in emulator/ names one. */
export const EMULATOR_ENV = {
  host: 'LUMA_EMULATOR_HOST',
  port: 'LUMA_EMULATOR_PORT',
  publicOrigin: 'LUMA_EMULATOR_PUBLIC_ORIGIN',
  keys: 'LUMA_EMULATOR_KEYS',
  latencyMs: 'LUMA_EMULATOR_LATENCY_MS',
  imageLatencyMs: 'LUMA_EMULATOR_IMAGE_LATENCY_MS',
  queueMs: 'LUMA_EMULATOR_QUEUE_MS',
  concurrency: 'LUMA_EMULATOR_CONCURRENCY',
  imageConcurrency: 'LUMA_EMULATOR_IMAGE_CONCURRENCY',
  createsPerMinute: 'LUMA_EMULATOR_CREATES_PER_MINUTE',
  imageCreatesPerMinute: 'LUMA_EMULATOR_IMAGE_CREATES_PER_MINUTE',
  balanceCents: 'LUMA_EMULATOR_BALANCE_CENTS',
  dataDir: 'LUMA_EMULATOR_DATA_DIR',
  imageResolution: 'LUMA_EMULATOR_IMAGE_RESOLUTION',
  renderConcurrency: 'LUMA_EMULATOR_RENDER_CONCURRENCY',
  keyframeTimeoutMs: 'LUMA_EMULATOR_KEYFRAME_TIMEOUT_MS',
  keyframeMaxBytes: 'LUMA_EMULATOR_KEYFRAME_MAX_BYTES',
} as const;

/** The key accepted when no keys are configured; for local use only. */
export const DEFAULT_EMULATOR_KEY = 'luma-emulator-key';

/** Port the CLI listens on when neither `--port` nor LUMA_EMULATOR_PORT is given (in-process the default is 0). */
export const DEFAULT_CLI_PORT = 7863;

/** Path prefix of the emulated API, the same as Luma's. */
export const API_PREFIX = '/dream-machine/v1';

/** Everything that shapes one emulator instance. */
export interface EmulatorOptions {
  /** Interface to listen on. */
  host: string;
  /** TCP port; 0 picks a free one (read it back from `baseUrl`). */
  port: number;
  /** Origin put in asset URLs, when clients reach the emulator under another name than host:port. */
  publicOrigin: string | undefined;
  /** Accepted API keys (Bearer tokens); each key is its own account. */
  keys: string[];
  /** How long a video generation stays `dreaming` at least (rendering may take longer). */
  latencyMs: number;
  /** How long an image generation stays `dreaming` at least. */
  imageLatencyMs: number;
  /** How long a generation stays `queued` before it starts dreaming. */
  queueMs: number;
  /** Video (Ray) generations in flight (queued + dreaming) per key before creates are refused with 429. */
  concurrency: number;
  /** Image (Photon) generations in flight per key before image creates are refused with 429. */
  imageConcurrency: number;
  /** Video creates accepted per key in any 60 s window; one more is refused with 429. */
  createsPerMinute: number;
  /** Image creates accepted per key in any 60 s window. */
  imageCreatesPerMinute: number;
  /** Starting balance of every key, in USD cents. */
  balanceCents: number;
  /** Where media files go; undefined means a temporary directory removed on close. */
  dataDir: string | undefined;
  /** Size class of generated images (their short side). */
  imageResolution: Resolution;
  /** ffmpeg renders running at once across all keys; the rest wait, still `dreaming`. */
  renderConcurrency: number;
  /** Time cap of one keyframe download. */
  keyframeTimeoutMs: number;
  /** Size cap of one keyframe download. */
  keyframeMaxBytes: number;
  /** Credits per operation and dollars per credit; charges are credits * dollarsPerCredit * 100 cents. */
  prices: PriceTable;
}

/** Defaults chosen so tests run fast; see docs/emulator.md. */
export function defaultEmulatorOptions(): EmulatorOptions {
  return {
    host: '127.0.0.1',
    port: 0,
    publicOrigin: undefined,
    keys: [DEFAULT_EMULATOR_KEY],
    latencyMs: 300,
    imageLatencyMs: 100,
    queueMs: 50,
    concurrency: 10,
    imageConcurrency: 40,
    createsPerMinute: 20,
    imageCreatesPerMinute: 80,
    balanceCents: 100_000,
    dataDir: undefined,
    imageResolution: '540p',
    renderConcurrency: Math.max(1, availableParallelism()),
    keyframeTimeoutMs: 10_000,
    keyframeMaxBytes: 20 * 1024 * 1024,
    prices: DEFAULT_PRICES,
  };
}

/** Fills in defaults and rejects values that cannot work. */
export function resolveEmulatorOptions(options: Partial<EmulatorOptions> = {}): EmulatorOptions {
  const resolved: EmulatorOptions = { ...defaultEmulatorOptions(), ...definedOnly(options) };
  if (resolved.keys.length === 0) throw new Error('the emulator needs at least one API key');
  if (!RESOLUTIONS.includes(resolved.imageResolution)) {
    throw new Error(`imageResolution must be one of ${RESOLUTIONS.join(', ')}`);
  }
  const atLeastOne = [
    resolved.concurrency,
    resolved.imageConcurrency,
    resolved.createsPerMinute,
    resolved.imageCreatesPerMinute,
    resolved.renderConcurrency,
  ];
  if (atLeastOne.some((n) => !(n >= 1))) throw new Error('concurrency and per-minute limits must be at least 1');
  return resolved;
}

/** Reads the emulator settings that are set in `env`; unset ones are left out so defaults apply. */
export function emulatorOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<EmulatorOptions> {
  const { read, num, list } = envReader(env);
  const options: Partial<EmulatorOptions> = {
    host: read(EMULATOR_ENV.host),
    port: num(EMULATOR_ENV.port, 0, 65535),
    publicOrigin: read(EMULATOR_ENV.publicOrigin)?.replace(/\/+$/, ''),
    latencyMs: num(EMULATOR_ENV.latencyMs, 0),
    imageLatencyMs: num(EMULATOR_ENV.imageLatencyMs, 0),
    queueMs: num(EMULATOR_ENV.queueMs, 0),
    concurrency: num(EMULATOR_ENV.concurrency, 1),
    imageConcurrency: num(EMULATOR_ENV.imageConcurrency, 1),
    createsPerMinute: num(EMULATOR_ENV.createsPerMinute, 1),
    imageCreatesPerMinute: num(EMULATOR_ENV.imageCreatesPerMinute, 1),
    balanceCents: num(EMULATOR_ENV.balanceCents, 0),
    dataDir: read(EMULATOR_ENV.dataDir),
    renderConcurrency: num(EMULATOR_ENV.renderConcurrency, 1),
    keyframeTimeoutMs: num(EMULATOR_ENV.keyframeTimeoutMs, 1),
    keyframeMaxBytes: num(EMULATOR_ENV.keyframeMaxBytes, 1),
  };
  const keys = list(EMULATOR_ENV.keys);
  if (keys !== undefined) options.keys = keys;
  const imageResolution = read(EMULATOR_ENV.imageResolution);
  if (imageResolution !== undefined) {
    if (!(RESOLUTIONS as readonly string[]).includes(imageResolution)) {
      throw new Error(`${EMULATOR_ENV.imageResolution} must be one of ${RESOLUTIONS.join(', ')}`);
    }
    options.imageResolution = imageResolution as Resolution;
  }
  return definedOnly(options);
}
