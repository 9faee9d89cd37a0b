// The typed library a backend imports: named re-exports only.
export { ReelflowClient, ReelflowError, type StartedStory } from './reelflow-client';
export { prepareStory } from './prepare-story';
export { readStoryFile } from './story-file';
export type { KeyframeReviewInput, RaiseBudget, ReviewAck, ShotReview, WebhookEvent } from '../common/messages';
export type { CostEstimate, StoryProgress, StoryResult, StorySummary } from '../common/progress';
export type { Stage } from '../common/stages';
export type { StorySpec, StorySpecInput } from '../common/story';
