/**
 * Structured logs: one JSON object a line on stderr, every line redacted (the worker's own secrets
 * included, see src/secrets.ts). The worker's Temporal runtime logs through the same function, so
 * activity and workflow logs are redacted too.
 */
import { DefaultLogger, Runtime, type LogEntry, type MetricsExporterConfig } from '@temporalio/worker';
import { redactDeep } from './diagnosis/redact';

export type Level = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

const LEVELS: Level[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
/** A log line's strings are clipped to this before redaction: an error quoting 8 MB of output stays one readable line. */
const MAX_LOG_TEXT = 8192;
let threshold: Level = 'INFO';

export function writeLog(level: Level, message: string, meta: Record<string, unknown> = {}): void {
  if (LEVELS.indexOf(level) < LEVELS.indexOf(threshold)) return;
  const line = redactDeep({ time: new Date().toISOString(), level: level.toLowerCase(), message, ...meta }, [], MAX_LOG_TEXT);
  process.stderr.write(`${JSON.stringify(line)}\n`);
}

/**
 * Routes the Temporal runtime's logs (worker, workflows, activities) through writeLog, from `level` up;
 * `metrics` adds the runtime's Prometheus exporter (installed once per process, so together).
 */
export function installLogging(level: Level = (process.env.TDL_LOG_LEVEL?.toUpperCase() as Level) || 'INFO', metrics?: MetricsExporterConfig): void {
  threshold = LEVELS.includes(level) ? level : 'INFO';
  Runtime.install({
    ...(metrics ? { telemetryOptions: { metrics } } : {}),
    logger: new DefaultLogger(threshold, (entry: LogEntry) => {
      const { sdkComponent, ...meta } = (entry.meta ?? {}) as Record<string, unknown>;
      writeLog(entry.level as Level, entry.message, { component: sdkComponent, ...meta });
    }),
  });
}
