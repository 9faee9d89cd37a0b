import type { StoryProgress, StoryResult } from '../common/progress';
import { isTerminalStage } from '../common/stages';
import { REVIEW_LINK_HEADER } from '../server/api/auth';
import { pause, type ChaosContext } from './context';
import { apiErrorText, type HttpRequest } from './http';
import type { ChaosStory } from './stories';

/** How a driven story ended. `stuck` means it neither ended nor moved on before the deadline. */
export interface StoryOutcome {
  storyId: string;
  status: StoryResult['status'] | 'stuck';
  error?: string;
  credits: number;
  /** The last stage seen, for a stuck story. */
  lastStage?: string;
  /** Reviews sent (retries of one review with the same update id count once). */
  reviews: number;
  /** From the start (or the first look) until it ended or the deadline passed. */
  seconds: number;
  /** Errors met while following or reviewing (expected while a process is down); the last ten. */
  errors: string[];
}

/** A started story and the review link the API gave it (HTTP starts only). */
export interface StartedChaosStory {
  story: ChaosStory;
  /** When the start was first tried (epoch ms). */
  startedAt?: number;
  /** `<exp>.<sig>` of its signed review link. */
  reviewLink?: string;
}

/**
 * Starts a story through its door, retrying (with the same id and Idempotency-Key, so it starts once) while the
 * stack cannot answer, until `deadline`.
 */
export async function startStory(ctx: ChaosContext, s: ChaosStory, deadline: number): Promise<StartedChaosStory> {
  const startedAt = Date.now();
  let last = '';
  while (Date.now() < deadline) {
    try {
      if (s.start === 'library') {
        await ctx.client.start(s.story, { storyId: s.id });
        return { story: s, startedAt };
      }
      const answer = await ctx.http.request('POST', '/v1/stories', {
        token: ctx.tokens.backend,
        headers: { 'idempotency-key': `chaos-start-${s.id}` },
        body: { id: s.id, story: s.story },
      });
      if (answer.status === 201 || answer.status === 200) {
        const review = (answer.json as { links?: { review?: string } }).links?.review;
        const url = review ? new URL(review) : undefined;
        const link = url ? `${url.searchParams.get('exp')}.${url.searchParams.get('sig')}` : undefined;
        return { story: s, reviewLink: link, startedAt };
      }
      last = `HTTP ${answer.status}: ${apiErrorText(answer)}`;
      if (answer.status < 500) break;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
      // A library start refused as a conflict after a lost answer means the story is there.
      if (/already exists/.test(last)) return { story: s, startedAt };
    }
    await pause(1000);
  }
  throw new Error(`could not start ${s.id}: ${last}`);
}

/** The story's progress through the library, bounded in time (a query waits for a worker). */
async function progressOf(ctx: ChaosContext, storyId: string): Promise<StoryProgress> {
  return ctx.client.temporal.connection.withDeadline(Date.now() + 10_000, () => ctx.client.progress(storyId));
}

/**
 * Follows a story to its end, approving reviews as a reviewer would (through the story's review door, each review
 * with a stable update id so a retry is applied once), until it ends or `deadline` passes.
 */
export async function driveStory(
  ctx: ChaosContext,
  started: StartedChaosStory,
  deadline: number
): Promise<StoryOutcome> {
  const { story: s, reviewLink } = started;
  const errors: string[] = [];
  const note = (err: unknown) => {
    errors.push(err instanceof Error ? err.message : String(err));
    if (errors.length > 10) errors.shift();
  };
  const sent = new Set<string>();
  const began = started.startedAt ?? Date.now();
  const seconds = () => Math.round((Date.now() - began) / 100) / 10;
  let lastStage: string | undefined;
  while (Date.now() < deadline) {
    let p: StoryProgress | undefined;
    try {
      p = await progressOf(ctx, s.id);
    } catch (err) {
      note(err);
    }
    if (p) {
      lastStage = p.stage;
      if (isTerminalStage(p.stage)) {
        try {
          const result = await ctx.client.temporal.connection.withDeadline(Date.now() + 30_000, () =>
            ctx.client.result(s.id)
          );
          return {
            storyId: s.id,
            status: result.status,
            error: result.error,
            credits: result.credits,
            reviews: sent.size,
            seconds: seconds(),
            errors,
          };
        } catch (err) {
          note(err);
        }
      } else {
        for (const review of reviewsDue(p, s)) {
          try {
            await sendReview(ctx, s, review, reviewLink);
            sent.add(review.key);
          } catch (err) {
            note(err);
          }
        }
      }
    }
    await pause(1000);
  }
  return { storyId: s.id, status: 'stuck', lastStage, credits: 0, reviews: sent.size, seconds: seconds(), errors };
}

/** A review the story waits for. */
interface DueReview {
  /** Stable per review: the update id (library) or Idempotency-Key (HTTP) of every try. */
  key: string;
  kind: 'keyframes' | 'shot';
  shot?: number;
  decision?: 'approve' | 'reject';
}

function reviewsDue(p: StoryProgress, s: ChaosStory): DueReview[] {
  const due: DueReview[] = [];
  if (p.stage === 'awaiting-keyframe-review') {
    const round = Math.max(0, ...p.keyframes.map((k) => k.round));
    due.push({ key: `chaos-${s.id}-kf-${round}`, kind: 'keyframes' });
  }
  for (const shot of p.shots) {
    if (shot.state !== 'awaiting-review') continue;
    const attempt = shot.attempts.length;
    const reject = s.rejectFirstClip && shot.index === 0 && attempt === 1;
    due.push({
      key: `chaos-${s.id}-shot-${shot.index}-a${attempt}`,
      kind: 'shot',
      shot: shot.index,
      decision: reject ? 'reject' : 'approve',
    });
  }
  return due;
}

async function sendReview(ctx: ChaosContext, s: ChaosStory, review: DueReview, reviewLink?: string): Promise<void> {
  const feedback = review.decision === 'reject' ? 'the camera should move more slowly' : undefined;
  if (s.review === 'library') {
    if (review.kind === 'keyframes') {
      await ctx.client.reviewKeyframes(s.id, { approve: true }, { updateId: review.key });
    } else {
      await ctx.client.reviewShot(
        s.id,
        { shot: review.shot!, decision: review.decision!, feedback },
        { updateId: review.key }
      );
    }
    return;
  }
  const auth: HttpRequest =
    s.review === 'http-link' && reviewLink
      ? { headers: { [REVIEW_LINK_HEADER]: reviewLink, 'idempotency-key': review.key } }
      : { token: ctx.tokens.reviewer, headers: { 'idempotency-key': review.key } };
  const path =
    review.kind === 'keyframes'
      ? `/v1/stories/${s.id}/keyframes/review`
      : `/v1/stories/${s.id}/shots/${review.shot! + 1}/review`;
  const body = review.kind === 'keyframes' ? { approve: true } : { decision: review.decision, feedback };
  const answer = await ctx.http.request('POST', path, { ...auth, body });
  if (answer.status !== 200) throw new Error(`review ${review.key}: HTTP ${answer.status}: ${apiErrorText(answer)}`);
}

/** Starts every story and drives them all at once; resolves with every outcome. */
export async function runStories(
  ctx: ChaosContext,
  stories: ChaosStory[],
  deadline: number,
  options: { staggerMs?: number } = {}
): Promise<StoryOutcome[]> {
  return Promise.all(
    stories.map(async (s, i) => {
      await pause(i * (options.staggerMs ?? 0));
      try {
        const started = await startStory(ctx, s, deadline);
        return await driveStory(ctx, started, deadline);
      } catch (err) {
        return {
          storyId: s.id,
          status: 'stuck' as const,
          lastStage: 'not started',
          credits: 0,
          reviews: 0,
          seconds: 0,
          errors: [err instanceof Error ? err.message : String(err)],
        };
      }
    })
  );
}
