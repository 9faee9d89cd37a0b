import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { hasPublicAlias, IN_NETNS, onlyLoopback, PUBLIC_ALIAS, reexecInNetns } from './netns';
import { PROFILES } from './profiles';
import { formatTable, writeReport, type PartId } from './report';
import { runSuite } from './suite';

const USAGE = `Usage: npm run chaos -- [--profile full|short] [--seed <n>] [--out <dir>] [--parts R1,R4] [--no-netns]
Puts the real-process stack under worker kills, Temporal restarts, provider faults, bad input and strangers, and
prints R1-R6 against their goals (exit 1 when a goal is missed). See docs/reliability.md.`;

/** `npm run chaos`: the reliability and security suite. */
async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      profile: { type: 'string', default: 'full' },
      seed: { type: 'string' },
      out: { type: 'string' },
      parts: { type: 'string' },
      results: { type: 'string' },
      'no-netns': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const profile = values.profile as keyof typeof PROFILES;
  if (!(profile in PROFILES)) throw new Error(`--profile must be full or short, got ${values.profile}`);
  // The seed is fixed before the re-exec, so the run inside the namespace draws the same stories and kills.
  const seed = values.seed === undefined ? randomInt(1, 2 ** 31 - 1) : Number(values.seed);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be a whole number, got ${values.seed}`);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const root = path.resolve(__dirname, '..');
  const outDir = path.resolve(values.out ?? path.join(root, 'chaos', 'results', 'runs', stamp));
  const resultsDir = path.resolve(values.results ?? path.join(root, 'chaos', 'results'));
  const parts = values.parts?.split(',').map((p) => p.trim().toUpperCase() as PartId);

  if (!process.env[IN_NETNS] && !values['no-netns']) {
    const args = [__filename, '--profile', profile, '--seed', String(seed), '--out', outDir, '--results', resultsDir];
    if (values.parts) args.push('--parts', values.parts);
    const code = await reexecInNetns(args);
    if (code !== undefined) return code;
    console.log(
      'no network namespace can be made here: running on the host network; URL cases off loopback are skipped'
    );
  }

  const loopbackOnlyNetwork = !!process.env[IN_NETNS] && onlyLoopback();
  const report = await runSuite({
    profile,
    seed,
    outDir,
    parts,
    loopbackOnlyNetwork,
    publicAlias: loopbackOnlyNetwork && hasPublicAlias() ? PUBLIC_ALIAS : undefined,
  });
  const table = formatTable(report);
  console.log(`\n${table}\n`);
  const file = writeReport(report, resultsDir);
  writeFileSync(path.join(outDir, 'report.txt'), table + '\n');
  console.log(`results: ${file}\nlogs:    ${path.join(outDir, 'logs')}`);
  return report.pass ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  }
);
