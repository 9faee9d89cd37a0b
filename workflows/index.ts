// The workflow bundle's entry: named re-exports, and each type's versioning behaviour.
import './versioning';
export { storyWorkflow } from './story';
export { keyframesWorkflow } from './keyframes';
export { clipWorkflow } from './clip';
export { generationGateWorkflow } from './gate';
export { webhookOutboxWorkflow } from './outbox';
// Stories started before the v2 patch: their children and gate keep their old types and code.
export { shotWorkflow } from './legacy/shot-v1';
export { lumaGateWorkflow } from './legacy/gate-v1';
