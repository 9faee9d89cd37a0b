// Frozen contracts of the v1 workflows (stories started before the `reelflow-v2` patch). They describe what those
// runs scheduled, so their histories replay; nothing new may use them.
import type { AssetRef, StoryOutput } from '../../common/progress';
import type { PriceTable } from '../../common/pricing';
import type { AspectRatio, ImageModel, Resolution, StorySpec, VideoModel } from '../../common/story';

/** v1 task queues: Luma calls, gate and webhooks ran on `<prefix>-luma`. */
export interface TaskQueuesV1 {
  prefix: string;
  workflows: string;
  luma: string;
  media: string;
}

/** Input of a v1 story run. */
export interface StoryWorkflowInputV1 {
  storyId: string;
  spec: StorySpec;
  queues: TaskQueuesV1;
  prices: PriceTable;
}

/** Workflow id of the v1 account-wide gate. */
export function gateWorkflowIdV1(prefix: string): string {
  return `${prefix}-luma-gate`;
}

/** A v1 webhook event. */
export interface WebhookEventV1 {
  id: string;
  type: 'story.needs-review' | 'story.completed' | 'story.failed' | 'story.cancelled';
  storyId: string;
  at: string;
  review?: { what: 'keyframes' | 'shot'; shot?: number };
  video?: string;
  error?: string;
}

interface FinishedGenerationV1 {
  generationId: string;
  state: 'completed' | 'failed';
  failureReason?: string;
  assetUrl?: string;
}

/** The v1 Luma, gate and webhook activities as v1 workflows called them. */
export interface LumaActivitiesV1 {
  submitImageGeneration(input: {
    key: string;
    prompt: string;
    model: ImageModel;
    aspectRatio: AspectRatio;
  }): Promise<{ generationId: string; reused: boolean }>;
  submitVideoGeneration(input: {
    key: string;
    prompt: string;
    model: VideoModel;
    aspectRatio: AspectRatio;
    resolution: Resolution;
    durationSeconds: number;
    frame0Url: string;
    frame1Url?: string;
  }): Promise<{ generationId: string; reused: boolean }>;
  awaitGeneration(input: { generationId: string }): Promise<FinishedGenerationV1>;
  deleteGeneration(input: { generationId: string }): Promise<void>;
  requestGateSlot(input: {
    gateWorkflowId: string;
    queues: TaskQueuesV1;
    request: { permitId: string; requesterWorkflowId: string };
  }): Promise<void>;
  notifyWebhooks(event: WebhookEventV1): Promise<{ delivered: number }>;
}

/** The v1 media activities. */
export interface MediaActivitiesV1 {
  ingestKeyframe(input: {
    storyId: string;
    name: string;
    source: { providerUrl: string } | { supplied: string };
    width: number;
    height: number;
  }): Promise<AssetRef>;
  ingestClip(input: {
    storyId: string;
    name: string;
    url: string;
    expected: { durationSeconds: number; width: number; height: number };
  }): Promise<AssetRef>;
  cutLastFrame(input: { storyId: string; name: string; clipPath: string }): Promise<AssetRef>;
  renderStory(input: {
    storyId: string;
    clips: string[];
    crossfadeSeconds: number;
    audio?: { src: string; volume: number };
    keyframes: Array<{ path: string; label: string }>;
  }): Promise<StoryOutput>;
}
