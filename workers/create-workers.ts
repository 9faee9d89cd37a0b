import type { Client } from '@temporalio/client';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivitiesByQueue } from '../activities';
import { sweepStaleScratch } from '../activities/scratch';
import { createAssetStore, PROVIDER_URL_TTL_SECONDS, WEBHOOK_URL_TTL_SECONDS } from '../assets';
import { type ProviderSettings, type ReelflowConfig, requireLumaKey, requireSigningSecret } from '../config';
import { createProviders } from '../providers';
import { workerDeploymentOptions } from './deployment';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import { readFileSync } from 'node:fs';
import { startTracing } from '../config/tracing';

/** Where the worker takes its workflow code from: a prebuilt bundle (tests, production images) or the sources. */
export type WorkflowSource = { workflowBundle: { codePath: string } } | { workflowsPath: string };

/** reelflow's OpenTelemetry workflow interceptors, bundled in when tracing is on. */
const TRACING_INTERCEPTORS = require.resolve('../workflows/tracing');

/** The default: bundle `workflows/` at start-up. */
const workflowSources: WorkflowSource = { workflowsPath: require.resolve('../workflows') };

/** Hosts of the providers' base URLs: asset URLs of the emulator faces live there (loopback, so they need allowing). */
function providerHosts(config: ReelflowConfig): string[] {
  return [config.luma.baseUrl, config.fal.baseUrl].flatMap((base) => (base ? [new URL(base).host] : []));
}

const timingsOf = (s: ProviderSettings) => ({
  pollIntervalMs: s.pollIntervalMs,
  createTimeoutMs: s.createTimeoutMs,
  listTimeoutMs: s.listTimeoutMs,
});

/** Builds the activities of each task queue from config; one Temporal client is shared with the gate activity. */
function buildActivities(config: ReelflowConfig, temporal: Client) {
  const providers = createProviders({
    luma: { apiKey: requireLumaKey(config), baseUrl: config.luma.baseUrl, timings: timingsOf(config.luma) },
    fal: { apiKey: config.fal.apiKey, baseUrl: config.fal.baseUrl, timings: timingsOf(config.fal) },
    callbackBaseUrl: config.http.publicUrl,
  });
  // An object store presigns its own URLs; only the local store's are signed with our secret.
  const assets = createAssetStore({
    location: config.assets,
    publicBaseUrl: config.http.publicUrl,
    secret: () => requireSigningSecret(config),
  });
  return createActivitiesByQueue({
    providers,
    clockSkewMs: 2 * 60 * 1000,
    assets,
    providerUrl: (url) => assets.signUrl(url, PROVIDER_URL_TTL_SECONDS),
    providerHosts: providerHosts(config),
    allowPrivateInputs: config.downloads.allowPrivateInputs,
    maxDownloadBytes: config.downloads.maxBytes,
    maxAudioSeconds: config.inputs.maxAudioSeconds,
    temporal,
    queues: config.queues,
    limits: { luma: config.luma.limits, fal: config.fal.limits },
    livenessCheckMs: config.timings.gateCheckMs,
    webhooks: {
      urls: config.api.webhookUrls,
      secret: config.api.webhookSecret,
      receiverUrl: (url) => assets.signUrl(url, WEBHOOK_URL_TTL_SECONDS),
    },
  });
}

/** One Worker per task queue this process serves (workflows; io and poll; media), on the deployment's queues. */
export async function createWorkers(options: {
  config: ReelflowConfig;
  connection: NativeConnection;
  client: Client;
  workflows?: WorkflowSource;
}): Promise<Worker[]> {
  const { config, connection, client } = options;
  const activities = buildActivities(config, client);
  if (config.worker.roles.includes('media')) {
    // Scratch directories of media workers killed mid-activity (SIGKILL skips their clean-up) go now.
    const swept = await sweepStaleScratch();
    if (swept.length) Runtime.instance().logger.warn('stale scratch directories removed', { swept });
  }
  const tracing = startTracing(config, 'reelflow-worker');
  const source =
    options.workflows ??
    (config.worker.workflowBundle ? { workflowBundle: { codePath: config.worker.workflowBundle } } : workflowSources);
  if (tracing) checkBundleTraces(source);
  const common: Partial<WorkerOptions> = {
    connection,
    namespace: config.temporal.namespace,
    shutdownGraceTime: config.worker.shutdownGraceMs,
    shutdownForceTime: config.worker.shutdownGraceMs + 10_000,
    // Every worker of the process, activity-only ones too, joins one deployment version: a pinned story's activities
    // run on its own version's workers.
    workerDeploymentOptions: workerDeploymentOptions(config),
    ...(tracing && {
      // Workflow spans (workflows/tracing.ts, bundled in) leave the sandbox through the exporter sink.
      interceptors: {
        workflowModules: [TRACING_INTERCEPTORS],
        activity: [
          (ctx) => ({
            inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
            outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
          }),
        ],
      },
      sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
    }),
  };
  const workers: Promise<Worker>[] = [];
  if (config.worker.roles.includes('workflows')) {
    workers.push(
      Worker.create({
        ...common,
        taskQueue: config.queues.workflows,
        // The SDK's default grows with the heap (about 2,300 here) at about 2 MiB each: 1,000 stories waiting for
        // review would hold 2 GB. A waiting story needs no cache; its review replays a short history instead.
        maxCachedWorkflows: config.worker.maxCachedWorkflows,
        ...source,
      })
    );
  }
  if (config.worker.roles.includes('io')) {
    workers.push(
      Worker.create({
        ...common,
        taskQueue: config.queues.io,
        activities: activities.io,
        maxConcurrentActivityTaskExecutions: config.worker.ioConcurrency,
      }),
      // Polls sleep most of the time; their own queue and slots keep them from starving creates and deletes.
      Worker.create({
        ...common,
        taskQueue: config.queues.poll,
        activities: activities.poll,
        maxConcurrentActivityTaskExecutions: config.worker.pollConcurrency,
      })
    );
  }
  if (config.worker.roles.includes('media')) {
    workers.push(
      Worker.create({
        ...common,
        taskQueue: config.queues.media,
        activities: activities.media,
        maxConcurrentActivityTaskExecutions: config.worker.mediaConcurrency,
      })
    );
  }
  return Promise.all(workers);
}

/**
 * Tracing needs the OpenTelemetry workflow interceptors inside the bundle: bundling at start adds them (the plugin),
 * a prebuilt bundle must have been built with them.
 */
function checkBundleTraces(source: WorkflowSource): void {
  if (!('workflowBundle' in source)) return;
  if (!readFileSync(source.workflowBundle.codePath, 'utf8').includes('ContextOnlyOutbound')) {
    throw new Error(
      `REELFLOW_TRACING is on but the workflow bundle ${source.workflowBundle.codePath} has no tracing interceptors: ` +
        'unset REELFLOW_WORKFLOW_BUNDLE (bundle at start), or build it with workflowInterceptorModules: ' +
        '[workflows/tracing.ts]'
    );
  }
}

/** Connects the native connection workers poll with. */
export function connectWorkerConnection(config: ReelflowConfig): Promise<NativeConnection> {
  return NativeConnection.connect(config.temporal.connect.connectionOptions);
}
