import type { ApiAuth } from '../server/api/auth';
import type { ReelflowClient } from '../client/reelflow-client';

/**
 * Prints a signed review link once for each story that starts waiting for a keyframe review or a clip review, so a
 * developer running `npm run dev` can open it. Returns a function that stops watching.
 */
export function printReviewLinks(options: {
  client: ReelflowClient;
  auth: ApiAuth;
  baseUrl: string;
  print?: (line: string) => void;
  intervalMs?: number;
}): () => void {
  const print = options.print ?? ((line: string) => console.log(line));
  const printed = new Set<string>();
  let stopped = false;
  const tick = async () => {
    const candidates = [
      ...(await options.client.list({ stage: 'awaiting-keyframe-review', limit: 20 })),
      ...(await options.client.list({ stage: 'awaiting-clip-review', limit: 20 })),
      // A clip may wait for a verdict while other shots are still being made.
      ...(await options.client.list({ stage: 'shots', limit: 20 })).filter((s) => s.status === 'RUNNING'),
    ];
    for (const story of candidates) {
      const progress = await options.client.progress(story.storyId).catch(() => undefined);
      if (!progress) continue;
      const waiting =
        progress.stage === 'awaiting-keyframe-review'
          ? `keyframes (round ${Math.max(...progress.keyframes.map((k) => k.round))})`
          : progress.shots
              .filter((s) => s.state === 'awaiting-review')
              .map((s) => `shot ${s.index + 1} attempt ${s.attempts.length}`)
              .join(', ');
      const key = `${story.storyId}:${waiting}`;
      if (!waiting || printed.has(key)) continue;
      printed.add(key);
      print(`review ${story.storyId} (${waiting}): ${options.auth.reviewLink(story.storyId, options.baseUrl).url}`);
    }
  };
  const loop = async () => {
    while (!stopped) {
      await tick().catch(() => undefined);
      await new Promise((r) => setTimeout(r, options.intervalMs ?? 2000));
    }
  };
  void loop();
  return () => {
    stopped = true;
  };
}
