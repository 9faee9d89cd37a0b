import { headersWithContext } from '@temporalio/interceptors-opentelemetry/lib/instrumentation';
import {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow';
import type {
  ActivityInput,
  ContinueAsNewInput,
  Next,
  SignalWorkflowInput,
  StartChildWorkflowExecutionInput,
  UpdateInput,
  WorkflowInboundCallsInterceptor,
  WorkflowInterceptors,
  WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';

// The OpenTelemetry workflow interceptors a traced worker bundles (REELFLOW_TRACING; workers/create-workers.ts).
// Tracing is a setting that may be switched on and off while stories and the gate run, so the traced bundle must
// issue the same commands in the same order as the untraced one, both ways (test/replay/replay-traced.test.ts and
// test/integration/telemetry.test.ts check each). The stock outbound interceptor wraps each
// outgoing call in an async span and, replaying a history recorded without it, yields once more before issuing
// the command: a running gate's permit-granted signal then lands after an Update's answer it used to precede
// (the replay test caught it). Here outgoing calls only carry the trace context in their headers,
// synchronously, so activities, children and signalled workflows join the trace without a span of their own.

type Outbound = WorkflowOutboundCallsInterceptor;

/**
 * Spans for runs, signals and queries received. Updates are left untraced: the stock span makes a handler's answer
 * come a step later, after commands it would precede untraced (a traced story's review did not replay untraced).
 */
class InboundWithoutUpdates extends OpenTelemetryInboundInterceptor {
  override handleUpdate(input: UpdateInput, next: Next<WorkflowInboundCallsInterceptor, 'handleUpdate'>) {
    return next(input);
  }
  override validateUpdate(input: UpdateInput, next: Next<WorkflowInboundCallsInterceptor, 'validateUpdate'>) {
    return next(input);
  }
}

/** Propagates the active span's context on every outgoing call, without wrapping the call. */
class ContextOnlyOutbound extends OpenTelemetryOutboundInterceptor {
  override scheduleActivity(input: ActivityInput, next: Next<Outbound, 'scheduleActivity'>) {
    return next({ ...input, headers: headersWithContext(input.headers) });
  }
  override startChildWorkflowExecution(
    input: StartChildWorkflowExecutionInput,
    next: Next<Outbound, 'startChildWorkflowExecution'>
  ) {
    return next({ ...input, headers: headersWithContext(input.headers) });
  }
  override signalWorkflow(input: SignalWorkflowInput, next: Next<Outbound, 'signalWorkflow'>) {
    return next({ ...input, headers: headersWithContext(input.headers) });
  }
  override continueAsNew(input: ContinueAsNewInput, next: Next<Outbound, 'continueAsNew'>) {
    return next({ ...input, headers: headersWithContext(input.headers) });
  }
}

/** The interceptors of a traced workflow bundle. */
export const interceptors = (): WorkflowInterceptors => ({
  inbound: [new InboundWithoutUpdates()],
  outbound: [new ContextOnlyOutbound()],
  internals: [new OpenTelemetryInternalsInterceptor()],
});
