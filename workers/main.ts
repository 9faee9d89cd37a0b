import { Runtime } from '@temporalio/worker';
import { getHeapStatistics } from 'node:v8';
import { loadConfig } from '../config';
import { startTracing } from '../config/tracing';
import { connectTemporal } from '../config/temporal';
import { connectWorkerConnection, createWorkers } from './create-workers';
import { installJsonLogging } from './logging';
import { ensureSearchAttributes } from './search-attributes';
import { runtimeTelemetry } from './telemetry';

/** Runs the worker(s) of this process until SIGINT/SIGTERM, then shuts down gracefully. */
async function main(): Promise<void> {
  const config = loadConfig();
  installJsonLogging(config.logLevel, runtimeTelemetry(config));
  startTracing(config, 'reelflow-worker');
  // The heap limit decides this process's memory more than anything reelflow does (workers/heap.ts).
  Runtime.instance().logger.info('worker heap limit', {
    heapLimitMiB: Math.round(getHeapStatistics().heap_size_limit / 2 ** 20),
    maxCachedWorkflows: config.worker.maxCachedWorkflows,
  });
  const client = await connectTemporal(config);
  const connection = await connectWorkerConnection(config);
  try {
    await ensureSearchAttributes(client, config.temporal.namespace);
    const workers = await createWorkers({ config, connection, client });
    // Worker.run() resolves after the SDK's own SIGINT/SIGTERM handling has drained running activities.
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    await startTracing(config)?.shutdown();
    await connection.close();
    await client.connection.close();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
