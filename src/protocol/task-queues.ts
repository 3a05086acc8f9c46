/** Task queue of the coordinator: hosts every workflow and the coordinator's activities. */
export const COORDINATOR_TASK_QUEUE = 'parallelix-coordinator';

/** Each operator polls its own queue, named after its node id; the coordinator dispatches to it by name. */
export function nodeTaskQueue(nodeId: string): string {
  return `parallelix-${nodeId}`;
}

/**
 * Each operator also polls a small health queue that hosts only its `probe` activity, so a probe never
 * waits behind long inferences holding every slot of the node's inference queue.
 */
export function nodeHealthTaskQueue(nodeId: string): string {
  return `parallelix-${nodeId}-health`;
}
