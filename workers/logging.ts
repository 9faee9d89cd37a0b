import { DefaultLogger, Runtime, type LogLevel, type TelemetryOptions } from '@temporalio/worker';

/** Sends worker and activity/workflow logs to stdout as one JSON object per line; `telemetry`: metrics exporter. */
export function installJsonLogging(level: LogLevel, telemetry?: TelemetryOptions): void {
  Runtime.install({
    telemetryOptions: telemetry,
    logger: new DefaultLogger(level, (entry) => {
      const { message, level: lvl, timestampNanos, meta } = entry;
      process.stdout.write(
        JSON.stringify({
          time: new Date(Number(timestampNanos / 1_000_000n)).toISOString(),
          level: lvl,
          message,
          ...meta,
        }) + '\n'
      );
    }),
  });
}
