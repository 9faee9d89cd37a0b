import type { WorkerDeploymentOptions } from '@temporalio/worker';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ReelflowConfig } from '../config';

const root = path.resolve(__dirname, '..');

/** One version of the deployment: the deployment's name and this build's id. */
export interface DeploymentVersion {
  deploymentName: string;
  buildId: string;
}

let cachedCommit: string | null | undefined;

/**
 * The commit this code was built from: REELFLOW_GIT_COMMIT (set from a Docker build arg, since images carry no .git),
 * else `git rev-parse HEAD` in a checkout, else none.
 */
function gitCommit(config: ReelflowConfig): string | undefined {
  if (config.deployment.gitCommit) return config.deployment.gitCommit;
  if (cachedCommit === undefined) {
    try {
      cachedCommit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim();
    } catch {
      cachedCommit = null;
    }
  }
  return cachedCommit ?? undefined;
}

/**
 * This build's version: `<package version>-<first 12 hex of the commit>`, or the package version alone when no
 * commit is known (then every build of one version shares an id: set REELFLOW_GIT_COMMIT in images).
 */
export function deploymentVersion(config: ReelflowConfig): DeploymentVersion {
  const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  const commit = gitCommit(config);
  return { deploymentName: config.deployment.name, buildId: commit ? `${version}-${commit.slice(0, 12)}` : version };
}

/**
 * The workers' deployment options when versioning is on. Story-bound types declare themselves pinned
 * (`workflows/versioning.ts`); the rest (the gate, the outbox, runs started before versioning was on) follow the
 * current version.
 */
export function workerDeploymentOptions(config: ReelflowConfig): WorkerDeploymentOptions | undefined {
  if (!config.deployment.versioning) return undefined;
  return { version: deploymentVersion(config), useWorkerVersioning: true, defaultVersioningBehavior: 'AUTO_UPGRADE' };
}
