import { parseArgs } from 'node:util';
import { loadConfig, requireSigningSecret, type ReelflowConfig } from '../config';
import { startTracing } from '../config/tracing';
import { ReelflowClient } from '../client/reelflow-client';
import { createServer } from './server';

const USAGE = `Usage: npm run server -- [--insecure]
Serves the HTTP API, the review page and the asset files against the Temporal cluster the settings name.
  --insecure   start without REELFLOW_API_TOKENS (same as REELFLOW_INSECURE_OPEN_API=true): every loopback caller
               gets every right, which behind a reverse proxy on this machine means everyone. Development only.`;

/**
 * Why this server must not start, or nothing: without API tokens every caller behind a reverse proxy on this machine
 * would look like loopback and get every right, so that takes an explicit insecure flag; and the server must share
 * the workers' signing secret, or the asset URLs they hand to Luma would be refused here.
 */
export function startupRefusal(config: ReelflowConfig, insecureFlag: boolean): string | undefined {
  if (config.api.tokens.length === 0 && !config.api.insecureOpen && !insecureFlag) {
    return (
      'no API tokens are configured, so anyone reaching this server through a proxy on this machine would have ' +
      'every right: set REELFLOW_API_TOKENS=<token>:backend,<token>:reviewer, or, for local development only, ' +
      'REELFLOW_INSECURE_OPEN_API=true (or pass --insecure)'
    );
  }
  try {
    requireSigningSecret(config);
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

/** `npm run server`: the HTTP API and asset server against an existing Temporal cluster. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { insecure: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const config = loadConfig();
  const refusal = startupRefusal(config, values.insecure === true);
  if (refusal) {
    console.error(`reelflow server: ${refusal}`);
    process.exit(1);
  }
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

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
