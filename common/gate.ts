import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { GENERATION_FAMILIES, type GenerationFamily, type ProviderId } from './models';

// The contract between the provider gate workflow, the workflows that hold its permits, and the activities that
// reach it through the Temporal client. Pure definitions: safe in the workflow sandbox and in every process.

export { GENERATION_FAMILIES, type GenerationFamily };

/** What a provider account allows for one family. */
export interface FamilyLimits {
  /** Generations queued or dreaming at once. */
  maxInFlight: number;
  /** Creates accepted per minute. */
  createsPerMinute: number;
}

/** Limits of the families one provider account makes (a family it does not make has none, and no permits). */
export type GateLimits = Partial<Record<GenerationFamily, FamilyLimits>>;

/** The workflow run a permit belongs to; a reset or restarted run is another holder. */
export interface PermitHolder {
  workflowId: string;
  runId: string;
}

/** A request for `slots` generations of one family; `permitId` makes a re-sent request the same request. */
export interface SlotRequest {
  permitId: string;
  holder: PermitHolder;
  family: GenerationFamily;
  slots: number;
  /** Generations already in flight whose permit the gate lost: counted at once, even past the cap. */
  adopt?: boolean;
}

/** What a request carries to the gate: the limits in force where it was sent (newest wins). */
export interface AcquireRequest extends SlotRequest {
  limits: GateLimits;
  /** How often the gate checks that its holders still run. */
  livenessCheckMs: number;
}

/** The gate's answer: granted now, or queued (the grant follows as the `permitGranted` signal to the holder). */
export interface AcquireResult {
  state: 'granted' | 'queued';
  /** Slots the permit covers: the request's, cut down to the family's cap where it asked for more. */
  slots: number;
  /** Requests of the same family ahead of this one. */
  position?: number;
}

/** A permit the gate has handed out. */
export interface GrantedPermit extends SlotRequest {
  /** Workflow time (epoch ms) of the grant. */
  grantedAt: number;
}

/** A grant counted against a family's creates-per-minute. */
export interface RecentGrant {
  family: GenerationFamily;
  slots: number;
  at: number;
}

/** Input of the gate workflow, and the state it carries across continue-as-new. */
export interface GateInput {
  provider: string;
  /** Task queue of the gate's own activity (the liveness check). */
  ioQueue: string;
  limits: GateLimits;
  livenessCheckMs: number;
  holders?: GrantedPermit[];
  waiting?: SlotRequest[];
  grants?: RecentGrant[];
}

/** What the `gateState` query answers. */
export interface GateState {
  provider: string;
  limits: GateLimits;
  holders: GrantedPermit[];
  waiting: SlotRequest[];
  /** Slots held per family. */
  inFlight: Record<GenerationFamily, number>;
  /** Slots granted per family within the rate window. */
  recentCreates: Record<GenerationFamily, number>;
}

/** Asks for a permit (idempotent per permitId). */
export const acquirePermit = defineUpdate<AcquireResult, [AcquireRequest]>('acquirePermit');
/** Gives a permit back (or withdraws a queued request); answers whether the gate knew it. */
export const releasePermit = defineUpdate<{ released: boolean }, [{ permitId: string }]>('releasePermit');
/** Sent by the gate to the holder run when a queued request is granted. */
export const permitGranted = defineSignal<[{ permitId: string }]>('permitGranted');
/** Holders, waiters and counts of the gate. */
export const gateState = defineQuery<GateState>('gateState');

/** Workflow id of the gate of one provider account in a deployment. */
export function gateWorkflowId(prefix: string, provider: ProviderId = 'luma'): string {
  return `${prefix}-gate-${provider}`;
}
