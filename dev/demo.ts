import path from 'node:path';
import { createAssetStore } from '../assets';
import type { StoryProgress } from '../common/progress';
import { loadConfig } from '../config';
import { startLocalStack, LOCAL_PORTS, type LocalStack } from './local-stack';
import { TemporalCliMissingError } from './temporal-server';
import { watchProgress } from '../cli/progress-view';
import { ReelflowClient } from '../client/reelflow-client';
import { readStoryFile } from '../client/story-file';

const STORY_FILE = path.resolve(__dirname, '../examples/product-launch.yaml');
const OUT_DIR = path.resolve('out');

/** Whether a reelflow HTTP server (so a local stack) already answers. */
async function stackRunning(apiUrl: string): Promise<boolean> {
  try {
    return (await fetch(`${apiUrl}/healthz`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

/** The demo's reviewer: the newest ready variation of each generated boundary (it prints what it picked). */
function pickVariations(p: StoryProgress): Array<{ boundary: number; variation: number }> {
  return p.keyframes
    .filter((k) => k.variations.some((v) => v.state === 'ready' && !v.supplied))
    .map((k) => ({ boundary: k.boundary, variation: k.variations.filter((v) => v.state === 'ready').at(-1)!.index }));
}

/** `npm run demo`: runs the sample story end to end on the local stack and writes the video under out/. */
async function main(): Promise<void> {
  const started = Date.now();
  const config = loadConfig();
  let stack: LocalStack | undefined;
  let client: ReelflowClient;
  if (await stackRunning(config.http.publicUrl)) {
    console.log(`using the local stack already running at ${config.http.publicUrl}`);
    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS ?? `127.0.0.1:${LOCAL_PORTS.temporal}`,
    };
    client = await ReelflowClient.connect(loadConfig(env));
  } else {
    console.log('starting the local stack (Temporal dev server, Luma and fal emulator faces, workers, API)…');
    stack = await startLocalStack();
    client = stack.client;
  }
  try {
    const { story, baseDir } = await readStoryFile(STORY_FILE);
    const storyId = `demo-${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}`;
    const run = await client.start(story, { storyId, baseDir });
    console.log(
      `story ${run.storyId} started; estimate ${run.estimate.credits} credits ($${run.estimate.dollars.toFixed(2)})`
    );
    console.log(`Temporal UI: ${run.uiUrl}`);

    const atReview = await watchProgress(client, storyId);
    if (atReview.stage === 'awaiting-keyframe-review') {
      const picks = pickVariations(atReview);
      console.log(
        `review: picked ${picks.map((p) => `boundary ${p.boundary} → variation ${p.variation}`).join(', ')}; approving`
      );
      await client.reviewKeyframes(storyId, { picks, approve: true });
      await watchProgress(client, storyId);
    }
    const result = await client.result(storyId);
    if (result.status !== 'completed') throw new Error(`story ${result.status}: ${result.error ?? 'no reason given'}`);

    // Fetched from the store the workers wrote to (the local folder, or the bucket of REELFLOW_ASSET_STORE).
    const settings = stack?.config ?? config;
    const assets = createAssetStore({ location: settings.assets, publicBaseUrl: settings.http.publicUrl });
    const { video, poster, storyboard } = result.output!;
    for (const [name, ref] of Object.entries({ video, poster, storyboard })) {
      const target = path.join(OUT_DIR, `${storyId}-${name}${path.extname(ref.url)}`);
      await assets.get(ref, target);
      console.log(`${name.padEnd(10)} ${target}`);
    }
    console.log(`duration:  ${result.durationSeconds?.toFixed(2)} s`);
    for (const shot of result.shots) {
      console.log(`shot ${shot.index + 1}:    ${shot.provider ?? 'luma'} ${shot.model ?? ''}`);
    }
    console.log(`credits:   ${result.credits}`);
    console.log(`dollars:   $${result.dollars.toFixed(2)}`);
    for (const c of result.byProvider ?? []) {
      console.log(`  ${c.provider.padEnd(8)} ${c.credits} credits, $${c.dollars.toFixed(2)}`);
    }
    console.log(`wall time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log(`Temporal UI: ${run.uiUrl}`);
  } finally {
    if (stack) await stack.stop();
    else await client.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(
      err instanceof TemporalCliMissingError
        ? `reelflow demo: ${err.message}`
        : `reelflow demo: ${err instanceof Error ? err.message : err}`
    );
    process.exit(1);
  }
);
