import { startProcessMetrics } from '../metrics/process-metrics.js';
import { createLogger } from '../shared/logger.js';
import type { OperatorConfig } from './config.js';
import { runOperator, type RunOperatorOptions } from './operator.js';

/**
 * runOperator with the process's metrics endpoint (PARALLELIX_METRICS_PORT): the Temporal SDK's worker metrics
 * and the node's inference metrics, labelled with the operator's name.
 */
export async function runOperatorWithMetrics(config: OperatorConfig, options: RunOperatorOptions = {}): Promise<void> {
  const metrics = await startProcessMetrics({ component: 'operator', logger: createLogger('metrics'), temporalSdk: true, labels: { operator: config.name } });
  if (metrics.server) process.stdout.write(`operator ${config.name} metrics on ${metrics.server.url}\n`);
  try {
    await runOperator(config, { ...options, metrics: metrics.registry, ...(metrics.server ? { metricsUrl: metrics.server.url } : {}) });
  } finally {
    await metrics.close();
  }
}
