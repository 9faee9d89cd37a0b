import { loadConfig } from '../config';
import { startTracing } from '../config/tracing';
import { ReelflowClient } from '../client/reelflow-client';
import { createServer } from './server';

/** `npm run server`: the HTTP API and asset server against an existing Temporal cluster. */
async function main(): Promise<void> {
  const config = loadConfig();
  startTracing(config, 'reelflow-api');
  const client = await ReelflowClient.connect(config);
  const server = await createServer({ config, client, logger: true });
  const stop = async () => {
    await server.close();
    await client.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  await server.listen({ host: config.http.host, port: config.http.port });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
