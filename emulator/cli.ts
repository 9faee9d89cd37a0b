import { parseArgs } from 'node:util';
import { DEFAULT_FAL_CLI_PORT, FAL_EMULATOR_ENV, falEmulatorOptionsFromEnv } from './fal/settings';
import { startFalEmulator } from './fal';
import { DEFAULT_CLI_PORT, EMULATOR_ENV, emulatorOptionsFromEnv } from './settings';
import { startEmulator } from './index';

const USAGE = `Usage: npm run emulator -- [--face luma|fal] [--port <n>] [--host <address>]
Runs a local emulator in the foreground (Ctrl-C stops it): the Luma Dream Machine API (--face luma, the default,
settings LUMA_EMULATOR_*), or fal.ai's queue and Platform API (--face fal, settings FAL_EMULATOR_*).
See docs/emulator.md.`;

/** Starts one face of the emulator in the foreground and stops it cleanly on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      face: { type: 'string', default: 'luma' },
      port: { type: 'string' },
      host: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.face !== 'luma' && values.face !== 'fal')
    throw new Error(`--face must be luma or fal, got ${values.face}`);
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new Error(`--port must be 0..65535, got ${values.port}`);
  }

  let close: () => Promise<void>;
  if (values.face === 'fal') {
    const options = falEmulatorOptionsFromEnv();
    if (values.host) options.host = values.host;
    options.port = port ?? options.port ?? DEFAULT_FAL_CLI_PORT;
    const fal = await startFalEmulator(options);
    close = () => fal.close();
    console.log(`fal emulator face listening: ${fal.origin}`);
    console.log(`  FAL_BASE_URL=${fal.baseUrl}`);
    console.log(
      `  FAL_KEY=${fal.apiKey}${fal.options.keys.length > 1 ? ' (or another key of ' + FAL_EMULATOR_ENV.keys + ')' : ''}`
    );
    console.log(`  admin: ${fal.origin}/__emulator/stats (never expose this port publicly)`);
    console.log(`  media: ${fal.dataDir}`);
  } else {
    const options = emulatorOptionsFromEnv();
    if (values.host) options.host = values.host;
    // A fixed default port lets LUMAAI_BASE_URL stay the same between runs; in-process starts default to a free port.
    options.port = port ?? options.port ?? DEFAULT_CLI_PORT;
    const emulator = await startEmulator(options);
    close = () => emulator.close();
    console.log(`Luma emulator listening: ${emulator.baseUrl}`);
    console.log(`  LUMAAI_BASE_URL=${emulator.baseUrl}`);
    console.log(
      `  LUMAAI_API_KEY=${emulator.apiKey}${emulator.options.keys.length > 1 ? ' (or another key of ' + EMULATOR_ENV.keys + ')' : ''}`
    );
    console.log(`  admin: ${emulator.origin}/__emulator/stats (never expose this port publicly)`);
    console.log(`  media: ${emulator.dataDir}`);
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the emulator`);
    close().then(
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
