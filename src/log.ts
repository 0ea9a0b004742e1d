/**
 * Structured logs: one JSON object a line on stderr, every line redacted. The worker's Temporal
 * runtime logs through the same function, so activity and workflow logs are redacted too.
 */
import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';
import { redactDeep } from './diagnosis/redact';

export type Level = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export function writeLog(level: Level, message: string, meta: Record<string, unknown> = {}): void {
  const line = redactDeep({ time: new Date().toISOString(), level: level.toLowerCase(), message, ...meta });
  process.stderr.write(`${JSON.stringify(line)}\n`);
}

/** Routes the Temporal runtime's logs (worker, workflows, activities) through writeLog. */
export function installLogging(level: Level = (process.env.TDL_LOG_LEVEL?.toUpperCase() as Level) || 'INFO'): void {
  Runtime.install({
    logger: new DefaultLogger(level, (entry: LogEntry) => {
      const { sdkComponent, ...meta } = (entry.meta ?? {}) as Record<string, unknown>;
      writeLog(entry.level as Level, entry.message, { component: sdkComponent, ...meta });
    }),
  });
}
