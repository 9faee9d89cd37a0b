import type { WorkflowDefinitionOptions } from '@temporalio/common';
import { setWorkflowOptions, workflowInfo } from '@temporalio/workflow';
import { clipWorkflow } from './clip';
import { keyframesWorkflow } from './keyframes';
import { shotWorkflow } from './legacy/shot-v1';
import { storyWorkflow } from './story';

// How each workflow type moves between Worker Deployment Versions when REELFLOW_WORKER_VERSIONING is on
// (docs/operations.md, "Safe deploys"). The rule: what a story starts stays on the story's version; what outlives
// stories follows the current version, so an old version can be drained.
//
// Pinned: a story runs for days (reviews) and finishes on the code it started on, so a deploy never changes a story
// under a reviewer's feet (its continue-as-new runs inherit the pin). A shot's clip attempts and a keyframe round are
// the story's own steps, bounded by its generation timeout: they inherit the story's version, so parent and child
// always speak one version of their signals and results, and retiring a version waits for its stories only.
//
// Auto-upgrade (the workers' default, workers/deployment.ts): the gate never ends (it continues as new) and serves
// stories of every version; the webhook outbox outlives its story by up to a day of retries. Pinned, they would keep
// an old version alive forever. They follow the current version, so they are what the promote command's replay gate
// must prove compatible; their messages (common/gate.ts, WebhookEvent) are a wire contract between versions.
//
// The pin is declared only for runs whose first task ran on a versioned worker: Temporal refuses a versioning
// behaviour from an unversioned worker, and the same bundle serves both (versioning is a setting).

/** Pinned on versioned workers; nothing (unversioned) otherwise. */
const pinnedWhenVersioned = (): WorkflowDefinitionOptions =>
  workflowInfo().currentDeploymentVersion?.deploymentName ? { versioningBehavior: 'PINNED' } : {};

setWorkflowOptions(pinnedWhenVersioned, storyWorkflow);
setWorkflowOptions(pinnedWhenVersioned, clipWorkflow);
setWorkflowOptions(pinnedWhenVersioned, keyframesWorkflow);
setWorkflowOptions(pinnedWhenVersioned, shotWorkflow);
