import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { ReelflowConfig } from './index';

/** This process's tracing: the span processor every span goes through, and the resource naming the process. */
export interface Tracing {
  spanProcessor: SpanProcessor;
  resource: Resource;
  /** Flushes what is buffered and stops. */
  shutdown(): Promise<void>;
}

let started: Tracing | undefined;

/**
 * Starts OpenTelemetry tracing for this process when REELFLOW_TRACING is `otlp` (spans batched to the collector that
 * the standard OTEL_EXPORTER_OTLP_* variables name, default http://localhost:4318) or `console` (each span printed
 * as it ends); registers the global tracer provider the Temporal interceptors use. Once per process: the first
 * caller names the service. Undefined when tracing is off.
 */
export function startTracing(config: ReelflowConfig, serviceName = 'reelflow'): Tracing | undefined {
  if (config.telemetry.tracing === 'off') return undefined;
  if (started) return started;
  const resource = new Resource({ 'service.name': process.env.OTEL_SERVICE_NAME || serviceName });
  const spanProcessor =
    config.telemetry.tracing === 'otlp'
      ? new BatchSpanProcessor(new OTLPTraceExporter())
      : new SimpleSpanProcessor(new ConsoleSpanExporter());
  const provider = new BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
  // The context manager carries the active span across awaits, so an activity's span (and the client calls it
  // makes) join the trace its workflow started.
  provider.register({ contextManager: new AsyncLocalStorageContextManager().enable() });
  started = {
    spanProcessor,
    resource,
    shutdown: async () => {
      started = undefined;
      await provider.shutdown();
    },
  };
  return started;
}
