import { bundleWorkflowCode } from '@temporalio/worker';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startTemporalDevServer, type RunningTemporal } from '../../dev/temporal-server';

declare global {
  var __REELFLOW_TEMPORAL__: RunningTemporal | undefined;
}

/** One Temporal dev server and one workflow bundle for all integration tests. */
export default async function globalSetup(): Promise<void> {
  const artifacts = path.resolve(__dirname, '../../test-artifacts');
  mkdirSync(artifacts, { recursive: true });
  const [temporal, bundle] = await Promise.all([
    process.env.TEST_TEMPORAL_ADDRESS
      ? Promise.resolve(undefined)
      : startTemporalDevServer({
          cliPath: process.env.TEMPORAL_CLI_PATH,
          headless: true,
          logFile: path.join(artifacts, 'temporal.log'),
        }),
    bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: quietLogger }),
  ]);
  const codePath = path.join(artifacts, 'workflow-bundle.js');
  writeFileSync(codePath, bundle.code);
  globalThis.__REELFLOW_TEMPORAL__ = temporal;
  // Test workers are forked after global setup, so they inherit these.
  if (temporal) process.env.TEST_TEMPORAL_ADDRESS = temporal.address;
  process.env.TEST_WORKFLOW_BUNDLE = codePath;
}

const noop = () => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };
