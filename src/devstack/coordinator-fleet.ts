import type { ServiceProcess } from '../shared/service-process.js';
import { spawnCliService, waitForLogLine } from './cli-service.js';

export interface FleetCoordinator {
  name: string;
  process: ServiceProcess;
  /** The account it anchors from. */
  anchorer: string;
  metricsUrl: string | null;
}

const READY = /coordinator ready on task queue .* anchoring from (0x[0-9a-fA-F]{40})/;
const METRICS = /metrics on (http:\S+)/;

/**
 * Starts further `parallelix coordinator` processes against the running stack (`<state>/stack.json`), each
 * claiming an anchoring account of its own, and waits until each polls the coordinator's task queue.
 */
export async function startCoordinatorFleet(options: {
  count: number;
  envFor?: (index: number) => NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
}): Promise<FleetCoordinator[]> {
  const started = Array.from({ length: options.count }, (_, index) => {
    const name = `coordinator-${index + 2}`;
    return { name, service: spawnCliService(name, ['coordinator'], options.envFor?.(index) ?? {}) };
  });
  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
  const ready: FleetCoordinator[] = [];
  try {
    for (const c of started) {
      const match = await waitForLogLine(c.service, READY, deadline);
      ready.push({ name: c.name, process: c.service, anchorer: match[1]!, metricsUrl: METRICS.exec(match.input)?.[1] ?? null });
    }
  } catch (error) {
    await Promise.all(started.map((c) => c.service.stop()));
    throw error;
  }
  return ready;
}
