import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { TestStack } from './stack';

const root = path.resolve(__dirname, '../..');

/** A real worker process (`npm run worker`'s entry point) with the stack's settings, so it can be SIGKILLed. */
export function spawnWorker(
  stack: Pick<TestStack, 'env'>,
  name: string,
  env: Record<string, string> = {}
): ChildProcess {
  mkdirSync(path.join(root, 'test-artifacts'), { recursive: true });
  const log = createWriteStream(path.join(root, 'test-artifacts', `worker-${name}.log`));
  // node itself with tsx's loader, not the tsx CLI: the CLI runs the worker as its own child, which a SIGKILL of
  // the CLI would leave running.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'workers/main.ts')], {
    cwd: root,
    env: {
      ...process.env,
      ...stack.env,
      REELFLOW_WORKFLOW_BUNDLE: process.env.TEST_WORKFLOW_BUNDLE,
      REELFLOW_LOG_LEVEL: 'INFO',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  return child;
}

/** SIGKILLs a child process and waits until it is gone. */
export function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
