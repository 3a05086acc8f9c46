import { loadCoordinatorPolicy } from '../../coordinator/config.js';
import { startCoordinator } from '../../coordinator/coordinator.js';
import { resolveCoordinatorEndpoints } from '../../coordinator/endpoints.js';
import { COORDINATOR_TASK_QUEUE } from '../../protocol/task-queues.js';
import { say } from '../output.js';
import { waitForShutdownSignal } from '../shutdown.js';

/** `parallelix coordinator`: the coordinator's worker until Ctrl-C. */
export async function coordinatorCommand(): Promise<void> {
  const endpoints = resolveCoordinatorEndpoints();
  const coordinator = await startCoordinator({ ...endpoints, policy: loadCoordinatorPolicy() });
  say(`coordinator ready on task queue ${COORDINATOR_TASK_QUEUE} (Temporal ${endpoints.temporal.address}, namespace ${endpoints.temporal.namespace})`);
  await Promise.race([waitForShutdownSignal(), coordinator.done]);
  await coordinator.stop();
  say('coordinator stopped');
}
