// The workflow bundle's entry: named re-exports only.
export { storyWorkflow } from './story';
export { shotWorkflow } from './shot';
export { lumaGateWorkflow } from './gate';
