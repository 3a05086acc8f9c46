import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';

/**
 * A logger for the Temporal workers' own log (state changes, the workflow bundler's webpack report, core warnings)
 * that writes to `logFile`, one JSON line per entry, so that a terminal shows progress lines only; warnings and
 * errors are also written to stderr. The process's Temporal runtime must be installed with it (Runtime.install,
 * here through startProcessMetrics) before its first worker or native connection.
 */
export function workerLogTo(logFile: string): DefaultLogger {
  mkdirSync(path.dirname(logFile), { recursive: true });
  const write = (entry: LogEntry): void => {
    const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
    let line: string;
    try {
      line = JSON.stringify({ time, level: entry.level, message: entry.message, ...entry.meta }, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
    } catch {
      line = JSON.stringify({ time, level: entry.level, message: entry.message });
    }
    appendFileSync(logFile, `${line}\n`);
    if (entry.level === 'WARN' || entry.level === 'ERROR') process.stderr.write(`[temporal worker] ${entry.level} ${entry.message.split('\n')[0]} (details in ${logFile})\n`);
  };
  return new DefaultLogger('INFO', write);
}
