import type { ServiceProcess } from '../shared/service-process.js';
import { spawnCliService, waitForLogLine } from './cli-service.js';

export interface FleetOperator {
  name: string;
  nodeId: string;
  process: ServiceProcess;
  /** Its metrics endpoint, when it serves one. */
  metricsUrl: string | null;
}

/** The platform's credentials, blanked in an operator's environment (an empty variable counts as unset). */
const WITHHELD_FROM_OPERATORS = Object.fromEntries(
  ['PARALLELIX_TEMPORAL_ADDRESS', 'PARALLELIX_TEMPORAL_NAMESPACE', 'PARALLELIX_TEMPORAL_API_KEY', 'PARALLELIX_CODEC_KEY', 'DATABASE_URL', 'PARALLELIX_CHAIN_PRIVATE_KEY'].map((name) => [name, '']),
);

const READY = /operator (node-[0-9a-f]{40}) ready on task queue/;
const METRICS = /metrics on (http:\S+)/;

/** Starts `parallelix operator` processes (logs in `<state>/logs/operator-<name>.log`) and waits until each polls. */
export async function startOperatorFleet(options: {
  names: string[];
  /** The operator endpoint they connect through: operators get no Temporal address or namespace credentials. */
  operatorEndpoint: string;
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
      PARALLELIX_OPERATOR_ENDPOINT: options.operatorEndpoint,
      ...WITHHELD_FROM_OPERATORS,
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
