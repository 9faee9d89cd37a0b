/**
 * The P3 baseline, for the benchmark only (never part of the product): the brief's own design, a script that makes
 * its clips through the lumaai SDK under a semaphore of its own in each process, with no account-wide gate. The
 * bench runs two of these processes, as reelflow runs two workers. Each holds at most `--limit` generations; on a
 * 429 (after the SDK's own retries) it waits a second and tries again, as such a script would.
 *
 *   tsx bench/semaphore-baseline.ts --clips 60 --limit 10 --poll-ms 3000 --out holds.json
 *     (LUMAAI_API_KEY, LUMAAI_BASE_URL from the environment)
 */
import LumaAI from 'lumaai';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Hold {
  /** The semaphore was taken (a create is on its way) until the generation ended. */
  start: number;
  end: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      clips: { type: 'string', default: '60' },
      limit: { type: 'string', default: '10' },
      'poll-ms': { type: 'string', default: '3000' },
      out: { type: 'string' },
      tag: { type: 'string', default: 'baseline' },
    },
  });
  const clips = Number(values.clips);
  const limit = Number(values.limit);
  const pollMs = Number(values['poll-ms']);
  if (!values.out) throw new Error('--out is required');
  const luma = new LumaAI({ authToken: process.env.LUMAAI_API_KEY, baseURL: process.env.LUMAAI_BASE_URL });
  const holds: Hold[] = [];
  let tooMany = 0;
  let next = 0;
  const one = async (n: number) => {
    const start = Date.now();
    for (;;) {
      try {
        const created = await luma.generations.create({
          prompt: `baseline clip ${values.tag} ${n}: a phone resting on a marble table`,
          model: 'ray-3-14' as 'ray-2',
          aspect_ratio: '1:1',
          duration: '5s',
          resolution: '540p',
        });
        for (;;) {
          await new Promise((resolve) => setTimeout(resolve, pollMs));
          const g = await luma.generations.get(created.id!);
          if (g.state === 'completed' || g.state === 'failed') break;
        }
        break;
      } catch (err) {
        if (!(err instanceof LumaAI.RateLimitError)) throw err;
        tooMany++;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
    holds.push({ start, end: Date.now() });
  };
  // The semaphore: `limit` runners, each taking the next clip when its last one ends.
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < clips) await one(next++);
    })
  );
  writeFileSync(values.out, JSON.stringify({ holds, tooManyAfterSdkRetries: tooMany }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
