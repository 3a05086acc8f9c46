import { loadCoordinatorPolicy } from '../../policy/coordinator-policy.js';
import { startCoordinator } from '../../coordinator/coordinator.js';
import { resolveCoordinatorEndpoints } from '../../coordinator/endpoints.js';
import { createPrismaClient } from '../../db/client.js';
import { createCoordinatorMetrics } from '../../metrics/coordinator-metrics.js';
import { startProcessMetrics } from '../../metrics/process-metrics.js';
import { COORDINATOR_TASK_QUEUE } from '../../protocol/task-queues.js';
import { createLogger } from '../../shared/logger.js';
import { say } from '../output.js';
import { waitForShutdownSignal } from '../shutdown.js';

/**
 * `parallelix coordinator`: the coordinator's worker until Ctrl-C. Any number of these processes may share the task
 * queue, on one host or many: each anchors from an account of its own (see src/coordinator/anchorer-lock.ts).
 */
export async function coordinatorCommand(): Promise<void> {
  const endpoints = resolveCoordinatorEndpoints();
  const policy = loadCoordinatorPolicy();
  // Before any Temporal worker: the SDK's runtime (with its metrics exporter) can be installed once per process.
  const metrics = await startProcessMetrics({ component: 'coordinator', logger: createLogger('metrics'), temporalSdk: true });
  const db = createPrismaClient(endpoints.databaseUrl);
  let coordinator;
  try {
    coordinator = await startCoordinator({ ...endpoints, db, policy, metrics: createCoordinatorMetrics(metrics.registry, db) });
  } catch (error) {
    await metrics.close();
    await db.$disconnect();
    throw error;
  }
  if (metrics.server) say(`coordinator metrics on ${metrics.server.url}`);
  say(`coordinator ready on task queue ${COORDINATOR_TASK_QUEUE} (Temporal ${endpoints.temporal.address}, namespace ${endpoints.temporal.namespace}, anchoring from ${coordinator.anchorer})`);
  try {
    await Promise.race([waitForShutdownSignal(), coordinator.done]);
    await coordinator.stop();
  } finally {
    await metrics.close();
    await db.$disconnect();
  }
  say('coordinator stopped');
}
