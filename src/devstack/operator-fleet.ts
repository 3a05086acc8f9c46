import type { ServiceProcess } from './service-process.js';
import { spawnCliService, waitForLogLine } from './cli-service.js';

export interface FleetOperator {
  name: string;
  nodeId: string;
  process: ServiceProcess;
  /** Its metrics endpoint, when it serves one. */
  metricsUrl: string | null;
}

const READY = /operator (node-[0-9a-f]{40}) ready on task queue/;
const METRICS = /metrics on (http:\S+)/;

/** Starts `parallelix operator` processes (logs in `<state>/logs/operator-<name>.log`) and waits until each polls. */
export async function startOperatorFleet(options: {
  names: string[];
  temporalAddress: string;
  namespace: string;
  env?: NodeJS.ProcessEnv;
  /** Per operator (by index), e.g. its metrics port. */
  envFor?: (index: number) => NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
}): Promise<FleetOperator[]> {
  const started = options.names.map((name, index) => ({
    name,
    service: spawnCliService(`operator-${name}`, ['operator', '--name', name], {
      ...options.env,
      ...options.envFor?.(index),
      PARALLELIX_TEMPORAL_ADDRESS: options.temporalAddress,
      PARALLELIX_TEMPORAL_NAMESPACE: options.namespace,
    }),
  }));
  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
  const ready: FleetOperator[] = [];
  try {
    for (const op of started) {
      const match = await waitForLogLine(op.service, READY, deadline);
      ready.push({ name: op.name, nodeId: match[1]!, process: op.service, metricsUrl: METRICS.exec(match.input)?.[1] ?? null });
    }
  } catch (error) {
    await Promise.all(started.map((op) => op.service.stop()));
    throw error;
  }
  return ready;
}
