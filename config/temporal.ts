import { Client, Connection } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry/lib/client';
import type { ReelflowConfig } from './index';
import { startTracing } from './tracing';

/**
 * The one way every reelflow process (client library, CLI, HTTP server, workers, dev stack) connects to Temporal:
 * the address, namespace, TLS and API key of the config (TEMPORAL_* variables and envconfig profiles), traced when
 * REELFLOW_TRACING is on.
 */
export async function connectTemporal(config: ReelflowConfig): Promise<Client> {
  const connection = await Connection.connect(config.temporal.connect.connectionOptions);
  // With tracing on, starting or signalling a story opens a span whose context travels to the workflow in headers.
  const traced = startTracing(config) !== undefined;
  return new Client({
    connection,
    namespace: config.temporal.namespace,
    interceptors: traced ? { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } : undefined,
  });
}
