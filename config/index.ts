import { loadClientConnectConfig, type ClientConnectConfig } from '@temporalio/envconfig';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { GateLimits } from '../common/gate';
import type { StoryTimings } from '../common/messages';
import { DEFAULT_PRICES, mergePrices, type PriceTable } from '../common/pricing';
import { parseWith, ValidationError } from '../common/validation';
import { taskQueues, type TaskQueues } from '../common/task-queues';

/**
 * Every environment variable reelflow reads, defined once: name → [default, description]. `.env.example` and the
 * README's settings table list the same names (a unit test keeps them in step). Temporal's own variables
 * (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE) are
 * read by @temporalio/envconfig, each one over the same field of the TOML profile.
 */
export const ENV = {
  TEMPORAL_ADDRESS: [
    '',
    'Temporal frontend host:port (over the profile); unset and no profile with `npm run dev` = start a dev server',
  ],
  TEMPORAL_NAMESPACE: ['', "Temporal namespace (over the profile; default: the profile's, else `default`)"],
  TEMPORAL_API_KEY: ['', 'API key for Temporal Cloud (over the profile; turns TLS on)'],
  TEMPORAL_CONFIG_FILE: [
    '',
    'TOML file of Temporal connection profiles (envconfig), e.g. deploy/temporal/temporal.toml',
  ],
  TEMPORAL_PROFILE: ['', 'Profile of that file to connect with (default: `default`)'],
  TEMPORAL_CLI_PATH: ['', 'Path of the `temporal` CLI used by `npm run dev` (default: found on PATH)'],
  TEMPORAL_UI_URL: ['http://localhost:8233', 'Base URL of the Temporal Web UI, for the links reelflow prints'],
  LUMAAI_API_KEY: ['', 'Luma API key (required by workers); unset with `npm run dev` = start the Luma emulator'],
  LUMAAI_BASE_URL: ['', 'Luma API base URL; unset = the real Luma API'],
  LUMA_MAX_IN_FLIGHT: ['10', 'Account-wide cap on Luma video generations in flight, across all stories and workers'],
  LUMA_CREATES_PER_MINUTE: ['20', 'Account-wide cap on Luma video creates per minute'],
  LUMA_IMAGE_MAX_IN_FLIGHT: ['40', 'Account-wide cap on Luma image (keyframe) generations in flight'],
  LUMA_IMAGE_CREATES_PER_MINUTE: ['80', 'Account-wide cap on Luma image creates per minute'],
  LUMA_POLL_INTERVAL_MS: ['3000', 'How often a generation is polled'],
  LUMA_CREATE_TIMEOUT_MS: ['30000', 'Time limit of one create request (no SDK retries for creates)'],
  LUMA_LIST_TIMEOUT_MS: ['10000', 'Time limit of one list or get request (reconciliation, polling; no SDK retries)'],
  FAL_KEY: ['', 'fal.ai API key (for Kling and Veo models); unset with `npm run dev` = start the fal emulator face'],
  FAL_BASE_URL: [
    '',
    'Where fal requests go instead of fal.ai: https://<host>/<path> is sent to <FAL_BASE_URL>/<host>/<path>',
  ],
  FAL_MAX_IN_FLIGHT: ['10', 'Account-wide cap on fal video requests in flight (queued or running), across all stories'],
  FAL_CREATES_PER_MINUTE: [
    '60',
    'Account-wide cap on fal video submits per minute (fal has none; reelflow paces itself)',
  ],
  FAL_POLL_INTERVAL_MS: ['3000', 'How often a fal request is polled'],
  FAL_CREATE_TIMEOUT_MS: ['30000', 'Time limit of one fal submit (no SDK retries for submits)'],
  FAL_LIST_TIMEOUT_MS: ['10000', 'Time limit of one fal status, result, cancel or request-list call (no SDK retries)'],
  REELFLOW_DATA_DIR: ['.reelflow', 'Where assets (with the local store), the dev server database and logs live'],
  REELFLOW_ASSET_STORE: [
    '',
    'Where assets live: unset = the local directory <REELFLOW_DATA_DIR>/assets; s3://bucket/prefix = an S3-compatible ' +
      'bucket, configured by the standard AWS settings (AWS_REGION, AWS_ENDPOINT_URL_S3, credentials, profiles)',
  ],
  REELFLOW_HTTP_HOST: ['127.0.0.1', 'Address the HTTP server listens on'],
  REELFLOW_HTTP_PORT: ['8080', 'Port of the HTTP server (API, assets, review page)'],
  REELFLOW_PUBLIC_URL: ['', 'URL at which Luma can fetch our assets; default http://<host>:<port>'],
  REELFLOW_TASK_QUEUE_PREFIX: ['reelflow', 'Prefix of task queue names and of the gate workflow id'],
  REELFLOW_WORKER_ROLES: ['workflows,io,media', 'Which task queues this worker process serves (io includes poll)'],
  REELFLOW_WORKFLOW_BUNDLE: [
    '',
    'Prebuilt workflow bundle (bundleWorkflowCode output); default: bundle workflows/ at start',
  ],
  REELFLOW_WORKER_VERSIONING: [
    'false',
    'Worker Deployment Versioning: workers poll as one version and get tasks once it is promoted (`npm run deploy`)',
  ],
  REELFLOW_DEPLOYMENT_NAME: ['', 'Worker Deployment name (default: the task queue prefix)'],
  REELFLOW_GIT_COMMIT: [
    '',
    'Commit of this build (a Docker build arg); build id = <package version>-<commit>; default: git, else the version',
  ],
  REELFLOW_MEDIA_CONCURRENCY: ['', 'ffmpeg/sharp activities at once per worker (default: CPU count)'],
  REELFLOW_IO_CONCURRENCY: [
    '50',
    'Short provider/Temporal activities (creates, deletes, gate, webhooks) at once per worker',
  ],
  REELFLOW_POLL_CONCURRENCY: ['200', 'Generation polling activities at once per worker (mostly sleeping)'],
  REELFLOW_MAX_CACHED_WORKFLOWS: [
    '200',
    'Workflows a worker keeps in memory; one evicted (a story waiting for review) is replayed on its next task',
  ],
  REELFLOW_POLL_WINDOW_MS: ['600000', 'Longest single polling activity; a longer wait is several windows'],
  REELFLOW_GATE_RECHECK_MS: ['300000', 'How long a queued gate request waits for its grant before asking again'],
  REELFLOW_GATE_CHECK_MS: [
    '30000',
    'How often the gate checks that its permit holders still run (a dead one frees its slot)',
  ],
  REELFLOW_MAX_RETRY_DELAY_MS: ['60000', 'Longest pause between failed clip attempts'],
  REELFLOW_CONTINUE_AS_NEW_EVENTS: ['4000', 'History length past which a story waiting for review continues as new'],
  REELFLOW_SUBMIT_GIVE_UP_MS: [
    '3600000',
    'How long a clip create keeps retrying provider trouble (5xx, 429, an outage) before the attempt fails; a shot with a fallbackVideoModel then moves to it',
  ],
  REELFLOW_SHUTDOWN_GRACE_MS: ['30000', 'How long running activities get to finish on shutdown'],
  REELFLOW_DOLLARS_PER_CREDIT: [
    '0.05',
    'Dollars per Luma credit (your plan); reelflow counts every provider in these credits',
  ],
  REELFLOW_PRICES: [
    '',
    'JSON overriding parts of the price table, e.g. {"video":{"startEndFrame":3},"dollars":{"veo-3.1-fast":{"perSecond":0.12}}}',
  ],
  REELFLOW_MAX_DOWNLOAD_MB: ['500', 'Largest file reelflow downloads'],
  REELFLOW_ALLOW_PRIVATE_INPUTS: ['false', 'Allow story keyframe/audio URLs on private or loopback addresses'],
  REELFLOW_MAX_AUDIO_SECONDS: [
    '3600',
    'Longest supplied audio track accepted, in seconds (checked before anything is paid)',
  ],
  REELFLOW_API_TOKENS: ['', 'API tokens with roles: token:role,token:role (roles: backend, reviewer)'],
  REELFLOW_INSECURE_OPEN_API: [
    'false',
    'Let `npm run server` start without REELFLOW_API_TOKENS: loopback callers get every right (never behind a proxy)',
  ],
  REELFLOW_SIGNING_SECRET: [
    '',
    'HMAC secret of review links and asset URLs, the same for the HTTP server and every worker (required by both)',
  ],
  REELFLOW_REVIEW_SECRET: ['', 'Older name of REELFLOW_SIGNING_SECRET, read when that is unset'],
  REELFLOW_WEBHOOK_URLS: ['', 'Comma-separated URLs that receive story events'],
  REELFLOW_WEBHOOK_SECRET: ['', 'HMAC-SHA256 secret that signs webhook bodies'],
  REELFLOW_LOG_LEVEL: ['INFO', 'TRACE, DEBUG, INFO, WARN or ERROR'],
  REELFLOW_METRICS_ADDRESS: [
    '',
    "host:port of the workers' Prometheus endpoint (SDK and workflow metrics), e.g. 0.0.0.0:9464; unset = off",
  ],
  REELFLOW_TRACING: ['off', 'OpenTelemetry tracing: off, otlp (sent to OTEL_EXPORTER_OTLP_ENDPOINT) or console'],
} as const satisfies Record<string, readonly [string, string]>;

/**
 * The AWS SDK's own settings that the S3 asset store relies on, read by the SDK itself (with the shared config and
 * credentials files): named here so deployment files may set them. Not parsed by reelflow.
 */
export const AWS_SDK_ENV = [
  'AWS_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_ENDPOINT_URL_S3',
  'AWS_ENDPOINT_URL',
  'AWS_PROFILE',
] as const;

/** An environment variable reelflow reads. */
export type EnvName = keyof typeof ENV;

const intSetting = (min: number) => z.coerce.number().int().min(min);
const boolSetting = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const envSchema = z.object({
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).optional(),
  TEMPORAL_CONFIG_FILE: z.string().optional(),
  TEMPORAL_PROFILE: z.string().optional(),
  TEMPORAL_CLI_PATH: z.string().optional(),
  TEMPORAL_UI_URL: z.url(),
  LUMAAI_API_KEY: z.string().optional(),
  LUMAAI_BASE_URL: z.url().optional(),
  LUMA_MAX_IN_FLIGHT: intSetting(1),
  LUMA_CREATES_PER_MINUTE: intSetting(1),
  LUMA_IMAGE_MAX_IN_FLIGHT: intSetting(1),
  LUMA_IMAGE_CREATES_PER_MINUTE: intSetting(1),
  LUMA_POLL_INTERVAL_MS: intSetting(10),
  LUMA_CREATE_TIMEOUT_MS: intSetting(100),
  LUMA_LIST_TIMEOUT_MS: intSetting(100),
  FAL_KEY: z.string().optional(),
  FAL_BASE_URL: z.url().optional(),
  FAL_MAX_IN_FLIGHT: intSetting(1),
  FAL_CREATES_PER_MINUTE: intSetting(1),
  FAL_POLL_INTERVAL_MS: intSetting(10),
  FAL_CREATE_TIMEOUT_MS: intSetting(100),
  FAL_LIST_TIMEOUT_MS: intSetting(100),
  REELFLOW_DATA_DIR: z.string().min(1),
  REELFLOW_ASSET_STORE: z
    .string()
    .regex(
      /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[A-Za-z0-9][A-Za-z0-9._-]*)*\/?$/,
      'must be s3://<bucket>/<prefix> (a bucket name, then an optional key prefix), or unset for the local directory'
    )
    .optional(),
  REELFLOW_HTTP_HOST: z.string().min(1),
  REELFLOW_HTTP_PORT: intSetting(0).max(65535),
  REELFLOW_PUBLIC_URL: z.url().optional(),
  REELFLOW_TASK_QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9._-]+$/),
  REELFLOW_WORKER_ROLES: z
    .string()
    .transform((v) => v.split(',').map((r) => r.trim()))
    .pipe(z.array(z.enum(['workflows', 'io', 'media'])).min(1)),
  REELFLOW_WORKFLOW_BUNDLE: z.string().optional(),
  REELFLOW_WORKER_VERSIONING: boolSetting,
  REELFLOW_DEPLOYMENT_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only')
    .optional(),
  REELFLOW_GIT_COMMIT: z
    .string()
    .regex(/^[0-9a-f]{7,40}$/i, 'a git commit id (7 to 40 hex digits)')
    .optional(),
  REELFLOW_MEDIA_CONCURRENCY: intSetting(1).optional(),
  REELFLOW_IO_CONCURRENCY: intSetting(1),
  REELFLOW_POLL_CONCURRENCY: intSetting(1),
  REELFLOW_MAX_CACHED_WORKFLOWS: intSetting(2),
  REELFLOW_POLL_WINDOW_MS: intSetting(1000),
  REELFLOW_GATE_RECHECK_MS: intSetting(100),
  REELFLOW_GATE_CHECK_MS: intSetting(100),
  REELFLOW_MAX_RETRY_DELAY_MS: intSetting(0),
  REELFLOW_CONTINUE_AS_NEW_EVENTS: intSetting(20),
  REELFLOW_SUBMIT_GIVE_UP_MS: intSetting(1000),
  REELFLOW_SHUTDOWN_GRACE_MS: intSetting(0),
  REELFLOW_DOLLARS_PER_CREDIT: z.coerce.number().positive(),
  REELFLOW_PRICES: z.string().optional(),
  REELFLOW_MAX_DOWNLOAD_MB: intSetting(1),
  REELFLOW_ALLOW_PRIVATE_INPUTS: boolSetting,
  REELFLOW_MAX_AUDIO_SECONDS: intSetting(1),
  REELFLOW_API_TOKENS: z.string().optional(),
  REELFLOW_INSECURE_OPEN_API: boolSetting,
  REELFLOW_SIGNING_SECRET: z.string().min(16, 'must be at least 16 characters (32 random bytes are best)').optional(),
  REELFLOW_REVIEW_SECRET: z.string().min(16, 'must be at least 16 characters (32 random bytes are best)').optional(),
  REELFLOW_WEBHOOK_URLS: z.string().optional(),
  REELFLOW_WEBHOOK_SECRET: z.string().optional(),
  REELFLOW_LOG_LEVEL: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']),
  REELFLOW_METRICS_ADDRESS: z
    .string()
    .regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port, e.g. 0.0.0.0:9464')
    .optional(),
  REELFLOW_TRACING: z.enum(['off', 'otlp', 'console']),
});

/** One provider account's settings. */
export interface ProviderSettings {
  apiKey?: string;
  /** Where its API is (unset: the real provider). */
  baseUrl?: string;
  /** Account limits per model family, enforced by the account's gate workflow. */
  limits: GateLimits;
  pollIntervalMs: number;
  createTimeoutMs: number;
  listTimeoutMs: number;
}

/** reelflow's typed configuration. */
export interface ReelflowConfig {
  temporal: {
    /** Set when TEMPORAL_ADDRESS or the profile names one; unset means "start a local dev server" to `npm run dev`. */
    address?: string;
    namespace: string;
    connect: ClientConnectConfig;
    cliPath?: string;
    uiUrl: string;
  };
  /** The Luma account (keyframe images and Ray clips). */
  luma: ProviderSettings;
  /** The fal account (Kling and Veo clips); without a key, stories naming its models fail (or fall back). */
  fal: ProviderSettings;
  /** Timings of stories and the gate (tests scale them down). */
  timings: Required<StoryTimings> & { gateCheckMs: number };
  dataDir: string;
  /** The local store's folder (used when `assets.kind` is `local`). */
  assetsDir: string;
  /** Where the files live: the local directory, or an S3-compatible bucket and key prefix. */
  assets: { kind: 'local'; dir: string } | { kind: 's3'; bucket: string; prefix: string };
  http: { host: string; port: number; publicUrl: string };
  queues: TaskQueues;
  worker: {
    roles: Array<'workflows' | 'io' | 'media'>;
    workflowBundle?: string;
    mediaConcurrency: number;
    ioConcurrency: number;
    pollConcurrency: number;
    /** Workflows kept in the worker's cache (its memory is mostly these); the rest are replayed when they wake. */
    maxCachedWorkflows: number;
    shutdownGraceMs: number;
  };
  /** Worker Deployment Versioning: off, or this process's deployment (its build id: workers/deployment.ts). */
  deployment: { versioning: boolean; name: string; gitCommit?: string };
  prices: PriceTable;
  downloads: { maxBytes: number; allowPrivateInputs: boolean };
  /** Limits of supplied inputs beyond the fixed image rules (JPEG/PNG/WebP, one frame, at most 50 Mpx). */
  inputs: { maxAudioSeconds: number };
  api: {
    tokens: Array<{ token: string; role: 'backend' | 'reviewer' }>;
    /** REELFLOW_INSECURE_OPEN_API: `npm run server` may start without tokens. */
    insecureOpen: boolean;
    /** Key of review links and asset URLs (REELFLOW_SIGNING_SECRET, or its older name REELFLOW_REVIEW_SECRET). */
    signingSecret?: string;
    webhookUrls: string[];
    webhookSecret?: string;
  };
  logLevel: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** Metrics and tracing: the workers' Prometheus endpoint (off when unset) and OpenTelemetry tracing. */
  telemetry: { metricsAddress?: string; tracing: 'off' | 'otlp' | 'console' };
}

/** Time a create attempt keeps for itself beyond the create (the activity's safety margin, 2 s, and some). */
const SUBMIT_SPARE_MS = 3000;

/** Builds and validates the configuration from the environment; errors name the variable and the reason. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ReelflowConfig {
  const raw: Record<string, string | undefined> = {};
  for (const [name, [fallback]] of Object.entries(ENV)) {
    const value = env[name]?.trim();
    raw[name] = value ? value : fallback || undefined;
  }
  const e = parseWith(envSchema, raw, 'configuration');
  const dataDir = path.resolve(e.REELFLOW_DATA_DIR);
  const connect = temporalConnection(env, e.TEMPORAL_CONFIG_FILE, e.TEMPORAL_PROFILE);
  // The environment wins over the profile (envconfig applies it), the profile over reelflow's default.
  const namespace = e.TEMPORAL_NAMESPACE ?? (connect.namespace || 'default');
  connect.namespace = namespace;
  // An attempt creates only when a whole create fits in its time, which the give-up caps: a shorter give-up than a
  // create (with a few seconds to spare) would fail every create without ever sending one.
  const longestCreateMs = Math.max(e.LUMA_CREATE_TIMEOUT_MS, e.FAL_CREATE_TIMEOUT_MS);
  if (e.REELFLOW_SUBMIT_GIVE_UP_MS < longestCreateMs + SUBMIT_SPARE_MS) {
    throw new ValidationError('configuration', [
      {
        field: 'REELFLOW_SUBMIT_GIVE_UP_MS',
        message: `must be at least the longest create timeout plus ${SUBMIT_SPARE_MS / 1000} s (${longestCreateMs + SUBMIT_SPARE_MS} ms), or no create is ever sent`,
      },
    ]);
  }
  return {
    temporal: {
      address: connect.connectionOptions.address || undefined,
      namespace,
      connect,
      cliPath: e.TEMPORAL_CLI_PATH,
      uiUrl: e.TEMPORAL_UI_URL.replace(/\/+$/, ''),
    },
    luma: {
      apiKey: e.LUMAAI_API_KEY,
      baseUrl: e.LUMAAI_BASE_URL,
      limits: {
        video: { maxInFlight: e.LUMA_MAX_IN_FLIGHT, createsPerMinute: e.LUMA_CREATES_PER_MINUTE },
        image: { maxInFlight: e.LUMA_IMAGE_MAX_IN_FLIGHT, createsPerMinute: e.LUMA_IMAGE_CREATES_PER_MINUTE },
      },
      pollIntervalMs: e.LUMA_POLL_INTERVAL_MS,
      createTimeoutMs: e.LUMA_CREATE_TIMEOUT_MS,
      listTimeoutMs: e.LUMA_LIST_TIMEOUT_MS,
    },
    fal: {
      apiKey: e.FAL_KEY,
      baseUrl: e.FAL_BASE_URL?.replace(/\/+$/, ''),
      limits: { video: { maxInFlight: e.FAL_MAX_IN_FLIGHT, createsPerMinute: e.FAL_CREATES_PER_MINUTE } },
      pollIntervalMs: e.FAL_POLL_INTERVAL_MS,
      createTimeoutMs: e.FAL_CREATE_TIMEOUT_MS,
      listTimeoutMs: e.FAL_LIST_TIMEOUT_MS,
    },
    timings: {
      pollWindowMs: e.REELFLOW_POLL_WINDOW_MS,
      gateRecheckMs: e.REELFLOW_GATE_RECHECK_MS,
      gateCheckMs: e.REELFLOW_GATE_CHECK_MS,
      maxRetryDelayMs: e.REELFLOW_MAX_RETRY_DELAY_MS,
      continueAsNewEvents: e.REELFLOW_CONTINUE_AS_NEW_EVENTS,
      submitGiveUpMs: e.REELFLOW_SUBMIT_GIVE_UP_MS,
    },
    dataDir,
    assetsDir: path.join(dataDir, 'assets'),
    assets: assetLocation(e.REELFLOW_ASSET_STORE, path.join(dataDir, 'assets')),
    http: {
      host: e.REELFLOW_HTTP_HOST,
      port: e.REELFLOW_HTTP_PORT,
      publicUrl: (e.REELFLOW_PUBLIC_URL ?? `http://${e.REELFLOW_HTTP_HOST}:${e.REELFLOW_HTTP_PORT}`).replace(
        /\/+$/,
        ''
      ),
    },
    queues: taskQueues(e.REELFLOW_TASK_QUEUE_PREFIX),
    worker: {
      roles: e.REELFLOW_WORKER_ROLES,
      workflowBundle: e.REELFLOW_WORKFLOW_BUNDLE ? path.resolve(e.REELFLOW_WORKFLOW_BUNDLE) : undefined,
      mediaConcurrency: e.REELFLOW_MEDIA_CONCURRENCY ?? os.cpus().length,
      ioConcurrency: e.REELFLOW_IO_CONCURRENCY,
      pollConcurrency: e.REELFLOW_POLL_CONCURRENCY,
      maxCachedWorkflows: e.REELFLOW_MAX_CACHED_WORKFLOWS,
      shutdownGraceMs: e.REELFLOW_SHUTDOWN_GRACE_MS,
    },
    deployment: {
      versioning: e.REELFLOW_WORKER_VERSIONING,
      name: e.REELFLOW_DEPLOYMENT_NAME ?? e.REELFLOW_TASK_QUEUE_PREFIX.replaceAll('.', '_'),
      gitCommit: e.REELFLOW_GIT_COMMIT?.toLowerCase(),
    },
    prices: priceTable(e.REELFLOW_PRICES, e.REELFLOW_DOLLARS_PER_CREDIT),
    downloads: {
      maxBytes: e.REELFLOW_MAX_DOWNLOAD_MB * 1024 * 1024,
      allowPrivateInputs: e.REELFLOW_ALLOW_PRIVATE_INPUTS,
    },
    inputs: { maxAudioSeconds: e.REELFLOW_MAX_AUDIO_SECONDS },
    api: {
      tokens: parseTokens(e.REELFLOW_API_TOKENS),
      insecureOpen: e.REELFLOW_INSECURE_OPEN_API,
      signingSecret: e.REELFLOW_SIGNING_SECRET ?? e.REELFLOW_REVIEW_SECRET,
      webhookUrls: (e.REELFLOW_WEBHOOK_URLS ?? '')
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean),
      webhookSecret: e.REELFLOW_WEBHOOK_SECRET,
    },
    logLevel: e.REELFLOW_LOG_LEVEL,
    telemetry: { metricsAddress: e.REELFLOW_METRICS_ADDRESS, tracing: e.REELFLOW_TRACING },
  };
}

/**
 * Temporal connection options from the environment and, when TEMPORAL_CONFIG_FILE or TEMPORAL_PROFILE is set, a TOML
 * profile (TEMPORAL_PROFILE alone reads envconfig's default file, ~/.config/temporalio/temporal.toml).
 */
function temporalConnection(
  env: NodeJS.ProcessEnv,
  file: string | undefined,
  profile: string | undefined
): ClientConnectConfig {
  const vars = Object.fromEntries(
    Object.entries(env)
      .filter((kv): kv is [string, string] => kv[1] !== undefined && kv[1].trim() !== '')
      .map(([k, v]) => [k, v.trim()])
  );
  if (file && !existsSync(file)) {
    // envconfig treats a missing file as an empty one; a file named on purpose must exist.
    throw new ValidationError('configuration', [{ field: 'TEMPORAL_CONFIG_FILE', message: `no such file: ${file}` }]);
  }
  try {
    return loadClientConnectConfig({
      disableFile: !file && !profile,
      profile,
      // Unknown keys (a typo such as `api-key`) are refused rather than silently ignored.
      configFileStrict: true,
      overrideEnvVars: vars,
    });
  } catch (err) {
    throw new ValidationError('configuration', [
      { field: profile ? 'TEMPORAL_PROFILE' : 'TEMPORAL_CONFIG_FILE', message: (err as Error).message },
    ]);
  }
}

function assetLocation(setting: string | undefined, dir: string): ReelflowConfig['assets'] {
  if (!setting) return { kind: 'local', dir };
  const [bucket, ...prefix] = setting.slice('s3://'.length).split('/');
  return { kind: 's3', bucket, prefix: prefix.filter(Boolean).join('/') };
}

function priceTable(json: string | undefined, dollarsPerCredit: number): PriceTable {
  let override: Parameters<typeof mergePrices>[1] = {};
  if (json) {
    try {
      override = JSON.parse(json) as typeof override;
    } catch (err) {
      throw new ValidationError('configuration', [{ field: 'REELFLOW_PRICES', message: `not JSON: ${String(err)}` }]);
    }
  }
  try {
    return mergePrices({ ...DEFAULT_PRICES, dollarsPerCredit }, override);
  } catch (err) {
    throw new ValidationError('configuration', [
      { field: 'REELFLOW_PRICES', message: err instanceof Error ? err.message : String(err) },
    ]);
  }
}

function parseTokens(value: string | undefined): ReelflowConfig['api']['tokens'] {
  if (!value) return [];
  return value.split(',').map((entry, i) => {
    const [token, role] = entry.trim().split(':');
    if (!token || (role !== 'backend' && role !== 'reviewer')) {
      throw new ValidationError('configuration', [
        { field: `REELFLOW_API_TOKENS[${i}]`, message: 'must be token:backend or token:reviewer' },
      ]);
    }
    return { token, role };
  });
}

/**
 * The key of review links and asset URLs, or a clear error: a worker signs the keyframe URLs Luma fetches and the
 * HTTP server checks them, so separate processes must share it.
 */
export function requireSigningSecret(config: ReelflowConfig): string {
  if (!config.api.signingSecret) {
    throw new Error(
      'REELFLOW_SIGNING_SECRET is not set: the HTTP server and every worker must share one secret to sign and check ' +
        'asset URLs and review links; set it to the same random value for all of them (e.g. `openssl rand -hex 32`)'
    );
  }
  return config.api.signingSecret;
}

/** The Luma API key, or a clear error saying how to get going without one. */
export function requireLumaKey(config: ReelflowConfig): string {
  if (!config.luma.apiKey) {
    throw new Error(
      'LUMAAI_API_KEY is not set: set it for the real Luma API, or run `npm run dev` to use the emulator'
    );
  }
  return config.luma.apiKey;
}
