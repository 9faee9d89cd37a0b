import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { gateState, gateWorkflowId, GENERATION_FAMILIES, type GateState } from '../common/gate';
import { SERVER_METRICS } from '../common/metrics';
import { PROVIDER_IDS, type ProviderId } from '../common/models';
import { STAGES, TERMINAL_STAGES, type Stage } from '../common/stages';
import { SEARCH_ATTRIBUTES } from '../common/constants';
import type { ReelflowConfig } from '../config';

// GET /metrics: what reelflow's state is right now, read from Temporal at scrape time (stories by stage from
// visibility, generations in flight vs the account caps from each provider gate's query), plus this process's own
// Node metrics. Event metrics (credits charged, review waits) come from the workers' endpoint instead
// (workflows/metrics.ts). Like /healthz it needs no token: scrape it on the internal network.

/** Registers `/metrics` on the server. */
export function registerMetrics(app: FastifyInstance, deps: { config: ReelflowConfig; temporal: Client }): void {
  const { config, temporal } = deps;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'reelflow_api_' });
  const gauge = (name: string, help: string, labelNames: string[]) =>
    new Gauge({ name, help, labelNames, registers: [registry] });
  const stories = gauge(SERVER_METRICS.stories, 'Stories by stage (open ones; ended ones within retention)', ['stage']);
  const inFlight = gauge(SERVER_METRICS.inFlight, 'Provider generations in flight (gate permits held)', [
    'provider',
    'family',
  ]);
  const inFlightCap = gauge(SERVER_METRICS.inFlightCap, 'Account cap on generations in flight', ['provider', 'family']);
  const recent = gauge(SERVER_METRICS.recentCreates, 'Creates granted within the gate rate window', [
    'provider',
    'family',
  ]);
  const createsCap = gauge(SERVER_METRICS.createsCap, 'Account cap on creates per minute', ['provider', 'family']);
  const queued = gauge(SERVER_METRICS.queued, 'Requests waiting at the gate for a permit', ['provider', 'family']);

  const countStage = async (stage: Stage) => {
    const terminal = (TERMINAL_STAGES as readonly Stage[]).includes(stage);
    // A story terminated from outside keeps its last stage: only open stories count for the stages before the end.
    const query =
      `WorkflowType = 'storyWorkflow' AND TaskQueue = '${config.queues.workflows}' AND ` +
      `${SEARCH_ATTRIBUTES.stage.name} = '${stage}'${terminal ? '' : ` AND ExecutionStatus = 'Running'`}`;
    stories.set({ stage }, (await temporal.workflow.count(query)).count);
  };
  // One gate per provider account; a family the account does not make (fal's images) has no series.
  const readGate = async (provider: ProviderId) => {
    let state: GateState | undefined;
    try {
      state = await temporal.workflow.getHandle(gateWorkflowId(config.queues.prefix, provider)).query(gateState);
    } catch (err) {
      // No story has asked for a slot yet: nothing in flight.
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    const limits = state?.limits ?? config[provider].limits;
    for (const family of GENERATION_FAMILIES) {
      const capped = limits[family];
      if (!capped) continue;
      const labels = { provider, family };
      inFlight.set(labels, state?.inFlight[family] ?? 0);
      recent.set(labels, state?.recentCreates[family] ?? 0);
      queued.set(labels, state?.waiting.filter((w) => w.family === family).length ?? 0);
      inFlightCap.set(labels, capped.maxInFlight);
      createsCap.set(labels, capped.createsPerMinute);
    }
  };

  app.get('/metrics', async (request, reply) => {
    // A reading that fails leaves its series out rather than repeating an old value.
    for (const g of [stories, inFlight, inFlightCap, recent, createsCap, queued]) g.reset();
    const results = await Promise.allSettled([...STAGES.map(countStage), ...PROVIDER_IDS.map(readGate)]);
    for (const r of results) {
      if (r.status === 'rejected') request.log.warn({ err: String(r.reason) }, 'metrics: a reading failed');
    }
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
