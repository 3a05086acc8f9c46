import { rmSync } from 'node:fs';
import path from 'node:path';
import type { OperatorReadyFile } from '../operator/operator.js';
import { OPERATOR_NODE_FLAGS } from '../operator/node-flags.js';
import { stateDir } from '../shared/paths.js';
import { waitForReadyFile } from '../shared/ready-file.js';
import type { ServiceProcess } from '../shared/service-process.js';
import { didNotStart, spawnCliService } from './cli-service.js';

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
  const started = options.names.map((name, index) => {
    const readyFile = path.join(stateDir(), 'run', `operator-${name}.ready.json`);
    rmSync(readyFile, { force: true });
    const service = spawnCliService(`operator-${name}`, ['operator', '--name', name], {
      ...options.env,
      ...options.envFor?.(index),
      PARALLELIX_OPERATOR_ENDPOINT: options.operatorEndpoint,
      PARALLELIX_OPERATOR_READY_FILE: readyFile,
      ...WITHHELD_FROM_OPERATORS,
    }, OPERATOR_NODE_FLAGS);
    let ended = false;
    void service.exited.then(() => (ended = true));
    return { name, service, readyFile, ended: () => ended };
  });
  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
  const ready: FleetOperator[] = [];
  try {
    for (const op of started) {
      const info = await waitForReadyFile<OperatorReadyFile>(op.readyFile, { ended: op.ended, deadline });
      if (!info) throw didNotStart(op.service);
      ready.push({ name: op.name, nodeId: info.nodeId, process: op.service, metricsUrl: info.metricsUrl });
    }
  } catch (error) {
    await Promise.all(started.map((op) => op.service.stop()));
    throw error;
  }
  return ready;
}
