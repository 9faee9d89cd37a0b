import { Runtime, DefaultLogger } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import { ReelflowClient } from '../client/reelflow-client';
import { startProcessStack, type ProcessStack } from '../dev/process-stack';
import { seededRandom } from '../emulator/prng';
import type { ChaosContext } from './context';
import { HttpDoor } from './http';
import { PROFILES, SCALED_EMULATOR_ENV, SCALED_ENV, type Profile } from './profiles';
import { runWorkerKills } from './r1-worker-kills';
import { runTemporalRestarts } from './r2-temporal-restarts';
import { runProviderFaults } from './r3-provider-faults';
import { addLeftBehind, runBadInput } from './r4-bad-input';
import { runAccess } from './r5-access';
import { runReplay } from './r6-replay';
import type { PartId, PartResult, SuiteReport } from './report';

/** What a run is asked to do. */
export interface SuiteOptions {
  profile: Profile['name'];
  seed: number;
  /** The run's folder (logs, data, the dev server's file, the corpus). */
  outDir: string;
  /** Only these parts (default all). */
  parts?: PartId[];
  /** Whether this process runs in a network namespace with loopback only (see netns.ts). */
  loopbackOnlyNetwork: boolean;
  /** The public-looking address on that loopback, when there is one. */
  publicAlias?: string;
  log?: (line: string) => void;
}

/**
 * Runs the suite: starts the real-process stack, runs R1–R6 in order (a part that throws becomes a failed part,
 * and the next one still runs), stops every process, and returns the report.
 */
export async function runSuite(options: SuiteOptions): Promise<SuiteReport> {
  const startedAt = new Date();
  const began = Date.now();
  const profile = PROFILES[options.profile];
  const out = options.log ?? ((line: string) => console.log(line));
  const log = (message: string) => out(`[${((Date.now() - began) / 1000).toFixed(0).padStart(4)} s] ${message}`);
  // The suite's own SDK logs (replay, the client) stay quiet; each process of the stack logs to its own file.
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
  } catch {
    // installed already (a second run in one process)
  }
  const tokens = {
    backend: `backend-${randomBytes(8).toString('hex')}`,
    reviewer: `reviewer-${randomBytes(8).toString('hex')}`,
  };
  const reviewSecret = randomBytes(32).toString('hex');
  const parts: PartResult[] = [];
  let stack: ProcessStack | undefined;
  let client: ReelflowClient | undefined;
  try {
    log(`starting the stack under ${options.outDir}`);
    stack = await startProcessStack({
      outDir: options.outDir,
      workers: 2,
      env: {
        ...SCALED_ENV,
        REELFLOW_TASK_QUEUE_PREFIX: 'chaos',
        REELFLOW_API_TOKENS: `${tokens.backend}:backend,${tokens.reviewer}:reviewer`,
        REELFLOW_REVIEW_SECRET: reviewSecret,
        REELFLOW_LOG_LEVEL: 'INFO',
      },
      emulatorEnv: SCALED_EMULATOR_ENV,
      onUnexpectedExit: (exit) => log(`process ${exit.name} died: code ${exit.code}, signal ${exit.signal}`),
    });
    client = await ReelflowClient.connect(stack.config);
    log(`stack ready: API ${stack.apiUrl}, Temporal ${stack.temporalAddress}, emulator ${stack.emulatorOrigin}`);
    const ctx: ChaosContext = {
      stack,
      client,
      http: new HttpDoor(stack.apiUrl),
      profile,
      seed: options.seed,
      random: seededRandom(options.seed),
      tokens,
      reviewSecret,
      loopbackOnly: options.loopbackOnlyNetwork,
      publicAlias: options.publicAlias,
      log,
    };
    const wanted = (p: PartId) => !options.parts || options.parts.includes(p);
    let finished: string | undefined;
    const run = async (part: PartId, title: string, fn: () => Promise<PartResult>) => {
      if (!wanted(part)) return;
      log(`${part} ${title}: start`);
      const t0 = Date.now();
      try {
        const result = await fn();
        parts.push(result);
        log(`${part}: ${result.figures.every((f) => f.pass) ? 'pass' : 'FAIL'} (${result.seconds.toFixed(0)} s)`);
      } catch (err) {
        log(`${part} broke: ${err instanceof Error ? err.stack : String(err)}`);
        parts.push({
          part,
          title: `${title} (broke)`,
          seconds: (Date.now() - t0) / 1000,
          figures: [{ part, name: 'the part ran to its end', value: 'no', goal: 'yes', pass: false }],
          details: { error: err instanceof Error ? err.message : String(err) },
        });
      }
    };
    await run('R1', 'worker crashes', async () => {
      const r = await runWorkerKills(ctx);
      finished = (r.details.completedIds as string[] | undefined)?.[0];
      return r;
    });
    await run('R2', 'server restarts', () => runTemporalRestarts(ctx));
    await run('R3', 'provider faults', () => runProviderFaults(ctx));
    await run('R4', 'bad input', () => runBadInput(ctx));
    await run('R5', 'access', async () => runAccess(ctx, finished ?? (await anyCompleted(ctx))));
    await run('R6', 'replay', () => runReplay(ctx));
  } finally {
    await client?.close().catch(() => undefined);
    log('stopping the stack');
    await stack?.stop().catch((err) => log(`stopping the stack failed: ${String(err)}`));
  }
  const r4 = parts.find((p) => p.part === 'R4');
  if (r4 && stack) addLeftBehind(r4, stack.dirs);
  const unexpectedExits = stack?.group.unexpectedExits() ?? [];
  const pass = parts.length > 0 && parts.every((p) => p.figures.every((f) => f.pass));
  return {
    profile: profile.name,
    seed: options.seed,
    startedAt: startedAt.toISOString(),
    seconds: (Date.now() - began) / 1000,
    outDir: options.outDir,
    loopbackOnlyNetwork: options.loopbackOnlyNetwork,
    parts,
    unexpectedExits,
    pass,
  };
}

/** A completed story of this run, for R5's asset checks when R1 did not run or completed none. */
async function anyCompleted(ctx: ChaosContext): Promise<string | undefined> {
  const done = await ctx.client.list({ stage: 'completed', limit: 1 }).catch(() => []);
  return done[0]?.storyId;
}
