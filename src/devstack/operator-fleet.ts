import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ProvisioningError } from '../shared/errors.js';
import { projectRoot, stateDir } from '../shared/paths.js';
import { spawnService, type ServiceProcess } from './service-process.js';

export interface FleetOperator {
  name: string;
  nodeId: string;
  process: ServiceProcess;
}

const READY = /operator (node-[0-9a-f]{40}) ready on task queue/;

/** Starts `parallelix operator` processes (logs in `<state>/logs/operator-<name>.log`) and waits until each polls. */
export async function startOperatorFleet(options: {
  names: string[];
  temporalAddress: string;
  namespace: string;
  env?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
}): Promise<FleetOperator[]> {
  const { NODE_OPTIONS: _ignored, ...baseEnv } = process.env;
  const started = options.names.map((name) => {
    const logFile = path.join(stateDir(), 'logs', `operator-${name}.log`);
    const service = spawnService({
      name: `operator-${name}`,
      command: process.execPath,
      args: ['--import', 'tsx', path.join(projectRoot, 'src', 'cli', 'main.ts'), 'operator', '--name', name],
      logFile,
      cwd: projectRoot,
      env: {
        ...baseEnv,
        ...options.env,
        PARALLELIX_STATE_DIR: stateDir(),
        PARALLELIX_TEMPORAL_ADDRESS: options.temporalAddress,
        PARALLELIX_TEMPORAL_NAMESPACE: options.namespace,
      },
    });
    return { name, service, logFile, offset: 0 };
  });
  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
  const ready: FleetOperator[] = [];
  try {
    for (const op of started) {
      let exited = false;
      void op.service.exited.then(() => (exited = true));
      for (;;) {
        const text = readFileSync(op.logFile, 'utf8');
        const match = READY.exec(text);
        if (match) {
          ready.push({ name: op.name, nodeId: match[1]!, process: op.service });
          break;
        }
        if (exited || Date.now() > deadline) {
          throw new ProvisioningError(`operator ${op.name} did not start`, { details: text.split('\n').slice(-5).join('\n') });
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  } catch (error) {
    await Promise.all(started.map((op) => op.service.stop()));
    throw error;
  }
  return ready;
}
