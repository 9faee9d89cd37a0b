import { parseArgs } from 'node:util';
import { DEFAULT_CLI_PORT, EMULATOR_ENV, emulatorOptionsFromEnv } from './settings';
import { startEmulator } from './index';

const USAGE = `Usage: npm run emulator -- [--port <n>] [--host <address>]
Runs a local emulator of the Luma Dream Machine API in the foreground (Ctrl-C stops it).
Settings come from LUMA_EMULATOR_* variables; see docs/emulator.md.`;

/** Starts the emulator in the foreground and stops it cleanly on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { port: { type: 'string' }, host: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const options = emulatorOptionsFromEnv();
  if (values.host) options.host = values.host;
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new Error(`--port must be 0..65535, got ${values.port}`);
    options.port = port;
  }
  // A fixed default port lets LUMAAI_BASE_URL stay the same between runs; in-process starts default to a free port.
  options.port ??= DEFAULT_CLI_PORT;

  const emulator = await startEmulator(options);
  console.log(`Luma emulator listening: ${emulator.baseUrl}`);
  console.log(`  LUMAAI_BASE_URL=${emulator.baseUrl}`);
  console.log(
    `  LUMAAI_API_KEY=${emulator.apiKey}${emulator.options.keys.length > 1 ? ' (or another key of ' + EMULATOR_ENV.keys + ')' : ''}`
  );
  console.log(`  admin: ${emulator.origin}/__emulator/stats (never expose this port publicly)`);
  console.log(`  media: ${emulator.dataDir}`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the emulator`);
    emulator.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      }
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
