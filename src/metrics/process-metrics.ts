import type { Logger as TemporalLogger } from '@temporalio/worker';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { getFreePort } from '../shared/ports.js';
import type { Logger } from '../shared/logger.js';
import { loadMetricsSettings, type MetricsSettings } from './metrics-settings.js';
import { startMetricsServer, type MetricsServer } from './metrics-server.js';

export interface ProcessMetrics {
  /** This process's metrics (process CPU, memory and event loop included). */
  registry: Registry;
  /** The endpoint, when PARALLELIX_METRICS_PORT is set. */
  server: MetricsServer | null;
  close(): Promise<void>;
}

/**
 * Installs the Temporal SDK runtime with its Prometheus exporter on a private port, so the SDK's worker and client
 * metrics (task slots, poll latencies, activity and workflow task timings, …) join this process's endpoint.
 * Runtime.install works once per process and only before any worker or native connection: a process that already
 * has a runtime keeps it and serves its own metrics only.
 */
async function installTemporalRuntimeMetrics(logger: Pick<Logger, 'warn'>, workerLogger: TemporalLogger | undefined): Promise<string | null> {
  const { Runtime } = await import('@temporalio/worker');
  const port = await getFreePort();
  try {
    Runtime.install({
      ...(workerLogger ? { logger: workerLogger } : {}),
      telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${port}` } } },
    });
    return `http://127.0.0.1:${port}/metrics`;
  } catch (error) {
    logger.warn({ err: (error as Error).message }, 'Temporal runtime already installed: its SDK metrics are not exported here');
    return null;
  }
}

/**
 * The metrics of one process (`component` becomes a label on every series): a registry, and when
 * PARALLELIX_METRICS_PORT is set, its HTTP endpoint (with the Temporal SDK's metrics when `temporalSdk`).
 */
export async function startProcessMetrics(options: {
  component: 'coordinator' | 'gateway' | 'operator' | 'operator-endpoint' | 'stack';
  logger: Pick<Logger, 'warn' | 'info'>;
  temporalSdk?: boolean;
  /** With `temporalSdk`: the runtime installed here logs the Temporal workers' own log through this logger. */
  workerLogger?: TemporalLogger;
  settings?: MetricsSettings;
  /** Extra labels on every series, e.g. the operator's node id. */
  labels?: Record<string, string>;
}): Promise<ProcessMetrics> {
  const settings = options.settings ?? loadMetricsSettings();
  const registry = new Registry();
  registry.setDefaultLabels({ component: options.component, ...options.labels });
  collectDefaultMetrics({ register: registry });
  if (settings.port === null) return { registry, server: null, close: async () => undefined };
  const upstream = options.temporalSdk ? await installTemporalRuntimeMetrics(options.logger, options.workerLogger) : null;
  const server = await startMetricsServer({ registry, host: settings.host, port: settings.port, ...(upstream ? { upstream: [upstream] } : {}) });
  options.logger.info({ url: server.url }, 'metrics endpoint');
  return { registry, server, close: () => server.close() };
}
