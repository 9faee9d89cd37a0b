import { Client, Connection } from '@temporalio/client';
import type { ReelflowConfig } from './index';

/**
 * The one way every reelflow process (client library, CLI, HTTP server, workers, dev stack) connects to Temporal:
 * the address, namespace, TLS and API key of the config (TEMPORAL_* variables and envconfig profiles).
 */
export async function connectTemporal(config: ReelflowConfig): Promise<Client> {
  const connection = await Connection.connect(config.temporal.connect.connectionOptions);
  return new Client({ connection, namespace: config.temporal.namespace });
}
