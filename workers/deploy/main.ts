import { Command, InvalidArgumentError } from 'commander';
import { loadConfig, type ReelflowConfig } from '../../config';
import { connectTemporal } from '../../config/temporal';
import { deploymentVersion, type DeploymentVersion } from '../deployment';
import { RECORDED_HISTORIES, workflowBundleOf } from './replay-gate';
import { deploymentState, pinnedWorkflows, promote, PromotionRefused, retireVersion } from './versions';

// `npm run deploy -- <command>`: the operator's commands for Worker Deployment Versioning (docs/operations.md,
// "Safe deploys"). Run it from the image (or checkout) of the version you mean: its build id and workflow bundle
// are that version's.

function percent(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new InvalidArgumentError(`'${value}' is not 1..100`);
  return n;
}

async function withTemporal<T>(
  fn: (config: ReelflowConfig, client: Awaited<ReturnType<typeof connectTemporal>>) => Promise<T>
) {
  const config = loadConfig();
  const client = await connectTemporal(config);
  try {
    return await fn(config, client);
  } finally {
    await client.connection.close();
  }
}

const versionOf = (config: ReelflowConfig, buildId?: string): DeploymentVersion => ({
  deploymentName: config.deployment.name,
  buildId: buildId ?? deploymentVersion(config).buildId,
});

const program = new Command('deploy').description("reelflow's Worker Deployment Versioning commands");

program
  .command('version')
  .description("print this build's deployment name and build id")
  .action(() => {
    const v = versionOf(loadConfig());
    console.log(`${v.deploymentName} ${v.buildId}`);
  });

program
  .command('status')
  .description('the current and ramping versions, and every version with its open pinned workflows')
  .option('--json', 'machine-readable output')
  .action((opts: { json?: boolean }) =>
    withTemporal(async (config, client) => {
      const state = await deploymentState(client, config);
      if (opts.json) return console.log(JSON.stringify(state ?? null, null, 2));
      if (!state) return console.log(`deployment ${config.deployment.name}: no versioned worker has polled yet`);
      console.log(`deployment ${state.deploymentName}`);
      console.log(`current:  ${state.current ?? '(unversioned workers)'}`);
      if (state.ramping) console.log(`ramping:  ${state.ramping.buildId} at ${state.ramping.percentage}%`);
      for (const v of state.versions) {
        console.log(`  ${v.buildId.padEnd(28)} ${v.status.padEnd(9)} ${v.pinned.length} open pinned workflows`);
      }
    })
  );

program
  .command('promote')
  .description('replay recorded and recent cluster histories on this build, then make it current')
  .option('--build-id <id>', "the version to promote (default: this build's)")
  .option('--bundle <file>', "prebuilt workflow bundle to check (default: this build's workflows/)")
  .option('--histories <dir>', 'recorded histories to replay as well', RECORDED_HISTORIES)
  .option('--ramp <percent>', 'send only this share of new stories to it (ramping) instead', percent)
  .option('--wait <seconds>', "how long to wait for the version's workers on every queue", '120')
  .action((opts: { buildId?: string; bundle?: string; histories: string; ramp?: number; wait: string }) =>
    withTemporal(async (config, client) => {
      const version = versionOf(config, opts.buildId);
      console.log(`checking ${version.deploymentName} ${version.buildId}: replaying histories…`);
      const report = await promote({
        client,
        config,
        version,
        bundle: await workflowBundleOf(config, opts.bundle),
        recordedDir: opts.histories,
        rampPercent: opts.ramp,
        waitForWorkersMs: Number(opts.wait) * 1000,
      });
      const { recorded, open, closed } = report.sources;
      console.log(`replayed ${report.replayed} histories (${recorded} recorded, ${open} open, ${closed} closed): ok`);
      console.log(
        opts.ramp && opts.ramp < 100
          ? `${version.buildId} ramping at ${opts.ramp}% of new stories`
          : `${version.buildId} is current: new stories start on it; running ones stay on their version`
      );
    })
  );

program
  .command('drain <buildId>')
  .description('what still runs on an old version; with --wait, until nothing does')
  .option('--wait', 'wait until no pinned workflow is open on it')
  .action((buildId: string, opts: { wait?: boolean }) =>
    withTemporal(async (config, client) => {
      const version = versionOf(config, buildId);
      for (;;) {
        const pinned = await pinnedWorkflows(client, version);
        const stories = pinned.filter((p) => p.type === 'storyWorkflow');
        console.log(
          `${buildId}: ${pinned.length} open pinned workflows (${stories.length} stories` +
            `${stories.length ? `: ${stories.map((s) => s.workflowId).join(', ')}` : ''})`
        );
        if (pinned.length === 0) {
          console.log(`drained: stop its workers, then \`npm run deploy -- retire ${buildId}\``);
          return;
        }
        if (!opts.wait) return;
        await new Promise((r) => setTimeout(r, 30_000));
      }
    })
  );

program
  .command('retire <buildId>')
  .description('delete a drained version whose workers are stopped')
  .action((buildId: string) =>
    withTemporal(async (config, client) => {
      await retireVersion(client, config, versionOf(config, buildId));
      console.log(`${buildId} retired`);
    })
  );

program.parseAsync().catch((err) => {
  console.error(`deploy: ${err instanceof Error ? err.message : String(err)}`);
  if (err instanceof PromotionRefused && err.report) {
    for (const f of err.report.failures) console.error(`  ${f.source}: ${f.error.split('\n')[0]}`);
  }
  process.exit(1);
});
