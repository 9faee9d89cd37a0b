import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ReelflowError } from '../client/reelflow-client';
import { isTerminalStage } from '../common/stages';
import { getStats } from '../emulator/admin';
import { ledgerFromAccount, pause, type ChaosContext } from './context';
import { driveStory, startStory, type StoryOutcome } from './driver';
import { apiErrorText } from './http';
import { allOf, figure, percentOf, zero, type PartResult } from './report';
import { corpus, type CorpusCase, type ReviewInput, type StoryInput } from './corpus/cases';
import { writeCorpusFiles } from './corpus/files';
import { startHostileServer } from './corpus/servers';
import { smallStory, type ChaosStory } from './stories';

/** How one case ended. */
interface CaseOutcome {
  kind: string;
  name: string;
  door: string;
  names: string | string[];
  /** Refused with an error naming `names`. */
  refused: boolean;
  /** Where it was refused: at the door (nothing started), by the story (it failed), or not at all. */
  where: 'door' | 'story' | 'not refused';
  message: string;
  storyId?: string;
  /** Credits the provider charged for this case (refunds not deducted). */
  credits: number;
}

const FILES_OUTSIDE = 'files written outside the data directory';

/**
 * Adds to R4's figure what reelflow's processes left in their TMPDIR and working directory over the whole run, once
 * the stack has stopped: scratch directories of killed workers (R1) included, the TypeScript loader's cache not.
 */
export function addLeftBehind(r4: PartResult, dirs: { out: string; tmp: string; cwd: string }): void {
  const left = [...filesOutsideData(dirs)].filter((f) => f.startsWith('tmp/') || f.startsWith('cwd/'));
  const fig = r4.figures.find((f) => f.name === FILES_OUTSIDE);
  if (!fig) return;
  const during = (r4.details.writtenOutsideData as string[] | undefined) ?? [];
  const all = [...new Set([...during, ...left])];
  Object.assign(fig, { value: String(all.length), pass: all.length === 0 });
  r4.details.leftInTmpAtTheEnd = left;
}

/** Whether `text` names one of `names` as a word of its own (so "invalid" does not count as naming `id`). */
export function namesField(text: string, names: string | string[]): boolean {
  return [names].flat().some((name) => {
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return new RegExp(`(^|[^A-Za-z0-9_])${escaped}($|[^A-Za-z0-9_])`).test(text);
  });
}

/** Keeps every `every`-th case, and always the first case of each kind and door. */
export function sample(cases: CorpusCase[], every: number): CorpusCase[] {
  const seen = new Set<string>();
  return cases.filter((c, i) => {
    const kindDoor = `${c.kind}/${c.door}`;
    const first = !seen.has(kindDoor);
    seen.add(kindDoor);
    return first || i % every === 0;
  });
}

/** Runs `fn` over `items`, `limit` at a time. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    })
  );
  return out;
}

/** Every file and empty directory under `dir` (relative to `root`), skipping names `skip` says to. */
function walk(root: string, dir: string, skip: (rel: string) => boolean, out: Set<string>): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    const full = path.join(dir, name);
    const rel = path.relative(root, full);
    if (skip(rel)) continue;
    if (statSync(full, { throwIfNoEntry: false })?.isDirectory()) {
      // An empty directory left behind (a scratch directory of a killed worker) counts as much as a file; the
      // stack's own TMPDIR and working directory (top-level folders of the run) are not left behind, they are given.
      if (readdirSync(full).length === 0) {
        if (rel.includes(path.sep)) out.add(`${rel}/`);
      } else walk(root, full, skip, out);
    } else out.add(rel);
  }
}

/** What lies outside the data directory that a reelflow process could have written: the run folder around it. */
export function filesOutsideData(dirs: { out: string }): Set<string> {
  const { out } = dirs;
  const mine = new Set(['data', 'logs', 'emulator', 'corpus', 'tmp-aux', 'workflow-bundle.js', 'replay-failures']);
  const files = new Set<string>();
  walk(
    out,
    out,
    (rel) =>
      mine.has(rel) ||
      rel.startsWith('temporal.sqlite') ||
      // tsx's compile cache (the TypeScript loader's, reused across runs), not a file of reelflow's.
      /^tmp\/tsx-[^/]*$/.test(rel),
    files
  );
  return files;
}

/**
 * R4 bad input: the corpus (story rules, ids, review payloads, supplied files, URLs) through every door it can
 * come by, against the stack in its production settings (private inputs refused). Figures: refused naming the
 * field, credits the provider charged for them, processes that died, files written outside the data directory,
 * and a good story completing afterwards.
 */
export async function runBadInput(ctx: ChaosContext): Promise<PartResult> {
  const started = Date.now();
  const deadline = started + ctx.profile.r4.deadlineMs;
  const dir = path.join(ctx.stack.dirs.out, 'corpus');
  const casesDir = path.join(dir, 'cases');
  mkdirSync(casesDir, { recursive: true });
  const files = await writeCorpusFiles(dir, ctx.random);
  const hostile = await startHostileServer(files.goodPng, ctx.publicAlias);
  const exitsBefore = ctx.stack.group.unexpectedExits().length;
  const outsideBefore = filesOutsideData(ctx.stack.dirs);
  const cases = sample(corpus(files, { hostile, emulatorOrigin: ctx.stack.emulatorOrigin }), ctx.profile.r4.every);
  ctx.log(`R4 ${cases.length} cases`);

  // A story waiting for its keyframe review receives the bad reviews.
  const reviewId = 'r4-review';
  await startStory(
    ctx,
    {
      id: reviewId,
      story: smallStory({ title: 'chaos r4 review target', shots: 2, keyframeReview: true }),
      start: 'library',
      review: 'library',
      rejectFirstClip: false,
    },
    deadline
  );

  let outcomes: CaseOutcome[] = [];
  let healthy: StoryOutcome;
  let control: StoryOutcome | undefined;
  try {
    const storyCases = cases.filter((c): c is StoryInput & { door: CorpusCase['door'] } => c.kind !== 'review');
    outcomes = await mapLimit(storyCases, 4, (c, i) => runStoryCase(ctx, c, i, casesDir, deadline));
    await waitForStage(ctx, reviewId, 'awaiting-keyframe-review', deadline);
    const reviewCases = cases.filter((c): c is ReviewInput & { door: CorpusCase['door'] } => c.kind === 'review');
    for (const c of reviewCases) outcomes.push(await runReviewCase(ctx, c, reviewId));
    await ctx.client.cancel(reviewId).catch(() => undefined);

    const after = Math.max(deadline, Date.now() + 180_000);
    const good = (id: string, story: ChaosStory['story']): ChaosStory => ({
      id,
      story,
      start: 'library',
      review: 'library',
      rejectFirstClip: false,
    });
    // Workers still do good work: a plain story completes.
    const plain = good('r4-healthy', smallStory({ title: 'chaos r4 after the corpus', shots: 2 }));
    // And good input is still let in: a guard that refused everything would pass every case above.
    const supplied = hostile.publicOrigin
      ? good('r4-public-keyframe', {
          ...smallStory({ title: 'chaos r4 a keyframe from a public host', shots: 1 }),
          keyframes: [`${hostile.publicOrigin}/good.png`, null],
        })
      : undefined;
    [healthy, control] = await Promise.all([
      startStory(ctx, plain, after).then((st) => driveStory(ctx, st, after)),
      supplied ? startStory(ctx, supplied, after).then((st) => driveStory(ctx, st, after)) : undefined,
    ]);
  } finally {
    await hostile.close();
    await ctx.client.cancel(reviewId).catch(() => undefined);
  }

  const crashes = ctx.stack.group.unexpectedExits().slice(exitsBefore);
  const outsideAfter = filesOutsideData(ctx.stack.dirs);
  const written = [...outsideAfter].filter((f) => !outsideBefore.has(f));
  const refused = outcomes.filter((o) => o.refused).length;
  const credits = Math.round(outcomes.reduce((sum, o) => sum + o.credits, 0) * 100) / 100;
  const minimum = ctx.profile.name === 'full' ? 60 : 20;
  writeFileSync(path.join(dir, 'outcomes.json'), JSON.stringify(outcomes, null, 2));
  return {
    part: 'R4',
    title: `bad input: ${outcomes.length} cases through the CLI, the HTTP API and the client library`,
    seconds: (Date.now() - started) / 1000,
    figures: [
      percentOf('R4', 'refused with an error naming the field', refused, outcomes.length),
      figure('R4', 'credits spent on bad input (ledger)', credits.toFixed(2), '0', credits === 0),
      zero('R4', 'crashes (processes that died)', crashes.length),
      // The suite adds what is left in TMPDIR once the stack has stopped (see leftBehind).
      zero('R4', FILES_OUTSIDE, written.length),
      allOf('R4', 'workers healthy afterwards (a good story completes)', healthy.status === 'completed' ? 1 : 0, 1),
      figure(
        'R4',
        '(control) a good keyframe URL on a public host is let in',
        control ? control.status : 'not run (no public alias)',
        'completed',
        control?.status === 'completed'
      ),
      figure(
        'R4',
        '(condition) cases in the corpus',
        String(outcomes.length),
        `≥ ${minimum}`,
        outcomes.length >= minimum
      ),
    ],
    details: {
      notRefused: outcomes.filter((o) => !o.refused),
      paidFor: outcomes.filter((o) => o.credits > 0).map((o) => `${o.kind} / ${o.name} / ${o.door}: ${o.credits}`),
      byKind: countBy(outcomes, (o) => `${o.kind} (${o.door})`),
      crashes,
      writtenOutsideData: written,
      // Requests on 127.0.0.1 mean a loopback URL was fetched; the public alias is meant to be reached.
      hostileServerRequests: hostile.requests,
      healthy,
      control,
      outcomesFile: path.join(dir, 'outcomes.json'),
    },
  };
}

function countBy<T>(items: T[], key: (t: T) => string): Record<string, string> {
  const out: Record<string, [number, number]> = {};
  for (const item of items) {
    const k = key(item);
    out[k] ??= [0, 0];
    out[k][1]++;
    if ((item as { refused?: boolean }).refused) out[k][0]++;
  }
  return Object.fromEntries(Object.entries(out).map(([k, [n, d]]) => [k, `${n}/${d} refused`]));
}

/** The gross credits the ledger has for one story so far. */
async function creditsOf(ctx: ChaosContext, storyId: string): Promise<number> {
  const account = (await getStats(ctx.stack.emulatorOrigin)).keys[ctx.stack.lumaKey];
  return ledgerFromAccount(account, [storyId], ctx.stack.config.prices.dollarsPerCredit).grossCredits;
}

/** The text of a refusal from the library: its message and every field it names. */
function libraryErrorText(err: unknown): string {
  if (err instanceof ReelflowError) {
    return `${err.message}${err.fields?.length ? ` [${err.fields.map((f) => `${f.field}: ${f.message}`).join('; ')}]` : ''}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** Tries one bad story through its door; a story that starts is followed until it is refused, waits, or ends. */
async function runStoryCase(
  ctx: ChaosContext,
  c: StoryInput & { door: CorpusCase['door'] },
  index: number,
  casesDir: string,
  deadline: number
): Promise<CaseOutcome> {
  const storyId = c.kind === 'id' ? c.id! : `r4-${String(index).padStart(3, '0')}-${c.door}`;
  if (c.offLoopback && !(ctx.loopbackOnly && ctx.publicAlias)) {
    // Without a loopback-only namespace a guard that failed would send this off the machine: not sent, not passed.
    return {
      kind: c.kind,
      name: c.name,
      door: c.door,
      names: c.names,
      refused: false,
      where: 'not refused',
      message: 'not sent: the suite runs without a loopback-only network namespace (see chaos/netns.ts)',
      credits: 0,
    };
  }
  // Local files are referred to relative to the story file, as a user writes them.
  const story = relativize(c.story, casesDir);
  let message = '';
  let startedId: string | undefined;
  try {
    if (c.door === 'cli') {
      const file = path.join(casesDir, `${String(index).padStart(3, '0')}.json`);
      writeFileSync(file, JSON.stringify(story, null, 2));
      const run = await ctx.stack.runCli(['start', file, '--id', storyId]);
      if (run.code === 0) startedId = /^started (.+)$/m.exec(run.stdout)?.[1] ?? storyId;
      else message = `exit ${run.code}: ${run.stderr.trim()}`;
    } else if (c.door === 'http') {
      const answer = await ctx.http.request('POST', '/v1/stories', {
        token: ctx.tokens.backend,
        body: { id: storyId, story: c.story },
      });
      if (answer.status === 201 || answer.status === 200) startedId = (answer.json as { id: string }).id;
      else message = `HTTP ${answer.status}: ${apiErrorText(answer)}`;
    } else {
      await ctx.client.start(story, { storyId, baseDir: casesDir });
      startedId = storyId;
    }
  } catch (err) {
    message = libraryErrorText(err);
  }
  const outcome = { kind: c.kind, name: c.name, door: c.door, names: c.names };
  if (!startedId) {
    return {
      ...outcome,
      refused: namesField(message, c.names),
      where: 'door',
      message: message.slice(0, 500),
      credits: 0,
    };
  }
  const ended = await watchBadStory(ctx, startedId, Math.min(deadline, Date.now() + 150_000));
  const credits = await creditsOf(ctx, startedId);
  const refused = ended.stage === 'failed' && namesField(ended.error ?? '', c.names);
  return {
    ...outcome,
    refused,
    where: refused ? 'story' : 'not refused',
    message: (ended.error ?? `reached ${ended.stage}`).slice(0, 500),
    storyId: startedId,
    credits,
  };
}

/** A story with its supplied local files made relative to the story file's folder, as a user writes them. */
function relativize(story: unknown, casesDir: string): unknown {
  const s = story as { keyframes?: unknown; audio?: { src?: unknown } };
  const rel = (ref: unknown) =>
    typeof ref === 'string' && path.isAbsolute(ref) && !ref.startsWith('/etc/') ? path.relative(casesDir, ref) : ref;
  return {
    ...s,
    ...(Array.isArray(s.keyframes) && { keyframes: s.keyframes.map(rel) }),
    ...(s.audio && typeof s.audio === 'object' && 'src' in s.audio && { audio: { ...s.audio, src: rel(s.audio.src) } }),
  };
}

/**
 * Follows a story started with bad input until it fails (refused), or shows it got past its inputs (waits for a
 * review, makes shots, completes: then it is cancelled), or the deadline passes (cancelled too).
 */
async function watchBadStory(
  ctx: ChaosContext,
  storyId: string,
  deadline: number
): Promise<{ stage: string; error?: string }> {
  let stage = 'unknown';
  while (Date.now() < deadline) {
    const p = await ctx.client.temporal.connection
      .withDeadline(Date.now() + 10_000, () => ctx.client.progress(storyId))
      .catch(() => undefined);
    if (p) {
      stage = p.stage;
      if (isTerminalStage(p.stage)) return { stage: p.stage, error: p.error };
      if (p.stage !== 'keyframes') break;
    }
    await pause(1000);
  }
  await ctx.client.cancel(storyId).catch(() => undefined);
  return { stage };
}

async function waitForStage(ctx: ChaosContext, storyId: string, stage: string, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const p = await ctx.client.progress(storyId).catch(() => undefined);
    if (p?.stage === stage) return;
    if (p && isTerminalStage(p.stage)) throw new Error(`${storyId} ended as ${p.stage} (${p.error}) before ${stage}`);
    await pause(1000);
  }
  throw new Error(`${storyId} did not reach ${stage} in time`);
}

/** Sends one bad review through its door; it must be refused naming the field, and nothing may be paid for it. */
async function runReviewCase(
  ctx: ChaosContext,
  c: ReviewInput & { door: CorpusCase['door'] },
  storyId: string
): Promise<CaseOutcome> {
  const before = await creditsOf(ctx, storyId);
  let message = '';
  let accepted = false;
  try {
    if (c.door === 'http') {
      const route =
        c.what === 'keyframes'
          ? `/v1/stories/${storyId}/keyframes/review`
          : `/v1/stories/${storyId}/shots/${c.shot}/review`;
      const answer = await ctx.http.request('POST', route, {
        token: ctx.tokens.reviewer,
        ...(c.rawBody ? { rawBody: c.rawBody() } : { body: c.body }),
      });
      accepted = answer.status === 200;
      message = `HTTP ${answer.status}: ${apiErrorText(answer)}`;
    } else if (c.door === 'library') {
      if (c.what === 'keyframes') await ctx.client.reviewKeyframes(storyId, c.body as never);
      else await ctx.client.reviewShot(storyId, { ...(c.body as object), shot: Number(c.shot) - 1 } as never);
      accepted = true;
    } else {
      const run = await ctx.stack.runCli(['review', c.what === 'keyframes' ? 'keyframes' : 'shot', storyId, ...c.cli!]);
      accepted = run.code === 0;
      message = `exit ${run.code}: ${run.stderr.trim()}`;
    }
  } catch (err) {
    message = libraryErrorText(err);
  }
  // Anything paid in the meantime was paid because of this review.
  await pause(accepted ? 3000 : 0);
  const credits = Math.round(((await creditsOf(ctx, storyId)) - before) * 10_000) / 10_000;
  const refused = !accepted && namesField(message, c.names);
  return {
    kind: c.kind,
    name: c.name,
    door: c.door,
    names: c.names,
    refused,
    where: refused ? 'door' : 'not refused',
    message: message.slice(0, 500),
    storyId,
    credits,
  };
}
