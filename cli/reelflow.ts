import { Command, InvalidArgumentError } from 'commander';
import { writeFile } from 'node:fs/promises';
import { type KeyframeReviewInput } from '../common/messages';
import { STAGES, type Stage } from '../common/stages';
import { modelListing, type ModelListing } from '../common/listing';
import { type CostEstimate, type ProviderCost, type StoryResult } from '../common/progress';
import { loadConfig } from '../config';
import { ReelflowClient, ReelflowError } from '../client/reelflow-client';
import { formatProgress, watchProgress } from './progress-view';
import { prepareStory } from '../client/prepare-story';
import { readStoryFile } from '../client/story-file';

/** Parses `0=2,1=0` into keyframe picks. */
export function parsePicks(text: string): NonNullable<KeyframeReviewInput['picks']> {
  return text.split(',').map((pair) => {
    const match = /^\s*(\d+)\s*=\s*(\d+)\s*$/.exec(pair);
    if (!match) throw new InvalidArgumentError(`'${pair}' is not boundary=variation (e.g. 0=2)`);
    return { boundary: Number(match[1]), variation: Number(match[2]) };
  });
}

/** Parses `3` or `3=new prompt` into a regenerate request. */
export function parseRegenerate(text: string): { boundary: number; prompt?: string } {
  const match = /^\s*(\d+)\s*(?:=(.*))?$/s.exec(text);
  if (!match) throw new InvalidArgumentError(`'${text}' is not <boundary>[=prompt]`);
  return match[2] !== undefined ? { boundary: Number(match[1]), prompt: match[2] } : { boundary: Number(match[1]) };
}

const collect =
  <T>(parse: (v: string) => T) =>
  (value: string, previous: T[] = []) => [...previous, parse(value)];

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`'${value}' is not a shot number (1, 2, …)`);
  return n;
}

async function withClient<T>(fn: (client: ReelflowClient) => Promise<T>): Promise<T> {
  const client = await ReelflowClient.connect(loadConfig());
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

function printResult(result: StoryResult, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  console.log(`story ${result.storyId}: ${result.status}${result.error ? ` (${result.error})` : ''}`);
  if (result.video) console.log(`video:      ${result.video} (${result.durationSeconds?.toFixed(2)} s)`);
  if (result.poster) console.log(`poster:     ${result.poster}`);
  if (result.storyboard) console.log(`storyboard: ${result.storyboard}`);
  for (const shot of result.shots) {
    const where = shot.model ? `${shot.provider ?? 'luma'} ${shot.model}, ` : '';
    const fellBack = shot.attemptDetails?.some((a) => a.fallback) ? ' (fallback)' : '';
    console.log(
      `shot ${shot.index + 1}: ${where}${shot.attempts} attempt(s)${fellBack} ${shot.generationIds.join(', ')}` +
        (shot.credits !== undefined ? `  ${shot.credits} credits` : '')
    );
  }
  console.log(`credits: ${result.credits}  dollars: $${result.dollars.toFixed(2)}`);
  printByProvider(result.byProvider);
}

function printByProvider(costs: ProviderCost[] | undefined): void {
  for (const c of costs ?? []) {
    const parts = [c.keyframeImages ? `${c.keyframeImages} image(s)` : '', c.clips ? `${c.clips} clip(s)` : ''];
    console.log(
      `  ${c.provider.padEnd(5)} ${parts.filter(Boolean).join(', ')}: ${c.credits} credits, $${c.dollars.toFixed(2)}`
    );
  }
}

function printEstimate(estimate: CostEstimate): void {
  console.log(`keyframe images: ${estimate.keyframeImages} (${estimate.imageCredits} credits)`);
  console.log(`clips:           ${estimate.clips} (${estimate.videoCredits} credits)`);
  console.log(`total:           ${estimate.credits} credits, $${estimate.dollars.toFixed(2)}`);
  printByProvider(estimate.byProvider);
}

/** The models listing as a few aligned lines per provider. */
export function formatModels(listing: ModelListing): string {
  const lines = [`prices in credits of $${listing.dollarsPerCredit} (start+end frame clips)`];
  for (const p of listing.providers) {
    const limits = Object.entries(p.limits)
      .map(([family, l]) => `${family}: ${l.maxInFlight} in flight, ${l.createsPerMinute}/min`)
      .join('; ');
    lines.push('', `${p.id}: ${p.name} (${p.sdk}; bills ${p.billing}; gate ${limits})`);
    for (const m of listing.videoModels.filter((v) => v.provider === p.id)) {
      const cheapest = new Map<number, { credits: number; dollars: number }>();
      for (const price of m.prices) {
        const known = cheapest.get(price.durationSeconds);
        if (!known || price.credits < known.credits) cheapest.set(price.durationSeconds, price);
      }
      const price = [...cheapest].map(([d, c]) => `${d}s ${c.credits} cr ($${c.dollars.toFixed(2)})`).join(', ');
      lines.push(
        `  ${m.id}${m.default ? ' (default)' : ''}: ${m.durations.join('/')} s, ${m.resolutions.join('/')}, ` +
          `${m.aspectRatios.join(' ')}, END frame ${m.endFrame}, prompt ≤ ${m.maxPromptLength}; from ${price}`
      );
    }
    for (const m of listing.imageModels.filter((i) => i.provider === p.id)) {
      lines.push(`  ${m.id} (keyframe image): ${m.credits} cr ($${m.dollars.toFixed(2)})`);
    }
  }
  return lines.join('\n');
}

/** Builds the `reelflow` command line. */
export function buildProgram(): Command {
  const program = new Command('reelflow')
    .description('Turn a multi-shot story into a finished video, run as durable Temporal workflows.')
    // Errors stay one line; `reelflow <command> --help` shows the usage.
    .showSuggestionAfterError(true);

  program
    .command('start')
    .description('start a story from a JSON or YAML story file')
    .argument('<story>', 'story file')
    .option('--id <id>', 'story id (default: a new one)')
    .option('--wait', 'wait for the story to end and print its result')
    .option('--json', 'print JSON')
    .action(async (file: string, opts: { id?: string; wait?: boolean; json?: boolean }) => {
      const { story, baseDir } = await readStoryFile(file);
      await withClient(async (client) => {
        const started = await client.start(story, { storyId: opts.id, baseDir });
        if (opts.json && !opts.wait) console.log(JSON.stringify(started, null, 2));
        else {
          console.log(`started ${started.storyId}`);
          console.log(`estimate: ${started.estimate.credits} credits ($${started.estimate.dollars.toFixed(2)})`);
          console.log(`temporal: ${started.uiUrl}`);
        }
        if (opts.wait) {
          const result = await client.result(started.storyId);
          printResult(result, !!opts.json);
          if (result.status !== 'completed') process.exitCode = 1;
        }
      });
    });

  program
    .command('estimate')
    .description('estimate what a story will cost, without starting it')
    .argument('<story>', 'story file')
    .option('--json', 'print JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      const { story } = await readStoryFile(file);
      const { estimate } = prepareStory(story, loadConfig().prices);
      if (opts.json) console.log(JSON.stringify(estimate, null, 2));
      else printEstimate(estimate);
    });

  program
    .command('models')
    .description('list every provider and model: what each can make and what it costs')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const config = loadConfig();
      const listing = modelListing(config.prices, { luma: config.luma.limits, fal: config.fal.limits });
      console.log(opts.json ? JSON.stringify(listing, null, 2) : formatModels(listing));
    });

  program
    .command('status')
    .description("show a story's progress")
    .argument('<id>', 'story id')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      await withClient(async (client) => {
        const progress = await client.progress(id);
        console.log(opts.json ? JSON.stringify(progress, null, 2) : formatProgress(progress));
      });
    });

  program
    .command('watch')
    .description("follow a story's progress live until it ends or waits for review")
    .argument('<id>', 'story id')
    .action(async (id: string) => {
      await withClient((client) => watchProgress(client, id));
    });

  const review = program.command('review').description('review keyframes or clips');
  review
    .command('keyframes')
    .description('pick keyframe variations, regenerate boundaries, or approve')
    .argument('<id>', 'story id')
    .option('--approve', 'approve the keyframes (with any picks given here)')
    .option(
      '--pick <picks>',
      'boundary=variation pairs, e.g. 0=2,1=0 (boundaries count from 0)',
      (v, prev: KeyframeReviewInput['picks'] = []) => [...prev!, ...parsePicks(v)]
    )
    .option(
      '--regenerate <boundary[=prompt]>',
      'regenerate a boundary, optionally with a new prompt (repeatable)',
      collect(parseRegenerate)
    )
    .action(
      async (
        id: string,
        opts: {
          approve?: boolean;
          pick?: KeyframeReviewInput['picks'];
          regenerate?: Array<{ boundary: number; prompt?: string }>;
        }
      ) => {
        if (!opts.approve && !opts.pick && !opts.regenerate)
          throw new InvalidArgumentError('give --approve, --pick or --regenerate');
        await withClient(async (client) => {
          await client.reviewKeyframes(id, { approve: !!opts.approve, picks: opts.pick, regenerate: opts.regenerate });
          console.log(formatProgress(await client.progress(id)));
        });
      }
    );
  review
    .command('shot')
    .description("approve or reject a shot's clip")
    .argument('<id>', 'story id')
    .argument('<n>', 'shot number (1, 2, …)', positiveInt)
    .option('--approve', 'approve the clip')
    .option('--reject <feedback>', 'reject the clip; it is regenerated with this feedback')
    .action(async (id: string, n: number, opts: { approve?: boolean; reject?: string }) => {
      if (!!opts.approve === (opts.reject !== undefined))
        throw new InvalidArgumentError('give either --approve or --reject <feedback>');
      await withClient(async (client) => {
        await client.reviewShot(
          id,
          opts.approve
            ? { shot: n - 1, decision: 'approve' }
            : { shot: n - 1, decision: 'reject', feedback: opts.reject }
        );
        console.log(formatProgress(await client.progress(id)));
      });
    });

  program
    .command('budget')
    .description("raise a story's credit budget")
    .argument('<id>', 'story id')
    .argument('<credits>', 'the new budget in credits', (v) => {
      const n = Number(v);
      if (!(n > 0)) throw new InvalidArgumentError(`'${v}' is not a positive number`);
      return n;
    })
    .action(async (id: string, credits: number) => {
      await withClient(async (client) => console.log(JSON.stringify(await client.raiseBudget(id, credits), null, 2)));
    });

  program
    .command('result')
    .description('wait for a story to end and show what it made')
    .argument('<id>', 'story id')
    .option('--json', 'print JSON')
    .option('--out <file>', 'also write the JSON result to this file')
    .action(async (id: string, opts: { json?: boolean; out?: string }) => {
      await withClient(async (client) => {
        const result = await client.result(id);
        if (opts.out) await writeFile(opts.out, JSON.stringify(result, null, 2));
        printResult(result, !!opts.json);
        if (result.status !== 'completed') process.exitCode = 1;
      });
    });

  program
    .command('cancel')
    .description('cancel a story (what it made is kept)')
    .argument('<id>', 'story id')
    .action(async (id: string) => {
      await withClient(async (client) => {
        await client.cancel(id);
        console.log(`cancel requested for ${id}`);
      });
    });

  program
    .command('list')
    .description('list recent stories')
    .option('--stage <stage>', `only stories in this stage (${STAGES.join(', ')})`, (v) => {
      if (!(STAGES as readonly string[]).includes(v)) throw new InvalidArgumentError(`unknown stage '${v}'`);
      return v as Stage;
    })
    .option('--json', 'print JSON')
    .action(async (opts: { stage?: Stage; json?: boolean }) => {
      await withClient(async (client) => {
        const stories = await client.list({ stage: opts.stage });
        if (opts.json) console.log(JSON.stringify(stories, null, 2));
        else
          for (const s of stories)
            console.log(`${s.storyId}\t${s.status}\t${s.stage ?? ''}\t${s.creditsUsed ?? 0} cr\t${s.title ?? ''}`);
      });
    });

  return program;
}

/** Runs the CLI; every error is one clear line and a non-zero exit. */
export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    const message = err instanceof ReelflowError || err instanceof Error ? err.message : String(err);
    console.error(`reelflow: ${message}`);
    process.exitCode = err instanceof ReelflowError && err.code === 'not-found' ? 3 : 1;
  }
}

if (require.main === module) void main();
