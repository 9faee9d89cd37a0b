import { TemporalCliMissingError } from './temporal-server';
import { startLocalStack } from './local-stack';
import { printReviewLinks } from './review-links';

/** `npm run dev`: the whole local stack in the foreground until Ctrl-C or SIGTERM. */
async function main(): Promise<void> {
  const stack = await startLocalStack();
  console.log(`Temporal UI: ${stack.urls.temporalUi}`);
  console.log(`API:         ${stack.urls.api}`);
  if (stack.auth.open) {
    console.log(
      'API access:  open to loopback callers without a token (no REELFLOW_API_TOKENS; local development only)'
    );
  } else {
    console.log('API access:  tokens from REELFLOW_API_TOKENS');
  }
  if (stack.urls.emulator) console.log(`Luma:        ${stack.urls.emulator} (emulator)`);
  if (stack.urls.falEmulator) console.log(`fal:         ${stack.urls.falEmulator} (emulator face)`);
  console.log(`data:        ${stack.config.dataDir}`);
  if (stack.urls.version) console.log(`version:     ${stack.urls.version} (current)`);
  console.log('ready');
  const stopLinks = printReviewLinks({ client: stack.client, auth: stack.auth, baseUrl: stack.config.http.publicUrl });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping…`);
    stopLinks();
    stack.stop().then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      }
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err) => {
  console.error(err instanceof TemporalCliMissingError ? `reelflow dev: ${err.message}` : err);
  process.exit(1);
});
