/**
 * Minimal operator entry point: configuration from the environment, stops on SIGINT/SIGTERM.
 *   node --import tsx src/operator/main.ts
 * Exit codes: 0 stopped, 1 failed (refused announcement, bad configuration, worker failure).
 */
import { ParallelixError } from '../shared/errors.js';
import { parseOperatorConfig } from './config.js';
import { runOperatorWithMetrics } from './run-with-metrics.js';

const controller = new AbortController();
for (const name of ['SIGINT', 'SIGTERM'] as const) process.once(name, () => controller.abort());

try {
  await runOperatorWithMetrics(parseOperatorConfig(process.env), { signal: controller.signal });
  process.exit(0);
} catch (error) {
  const code = error instanceof ParallelixError ? ` [${error.code}]` : '';
  process.stderr.write(`operator failed${code}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
