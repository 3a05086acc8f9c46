/**
 * The Temporal shape of a happy unsampled ParalleliX run with no work inside it: a local activity (01–04), one
 * activity on another worker's task queue (05–09 on the node), two local activities (10, then 12 · 13 · 14), done.
 * `npm run bench:floor` measures what this shape alone costs on the same Temporal server as the pipeline.
 */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { FloorCoordinatorActivities, FloorNodeActivities } from './activities.js';

export interface FloorInput {
  prompt: string;
  nodeQueue: string;
}

const { admit, verify, settle } = proxyLocalActivities<FloorCoordinatorActivities>({ startToCloseTimeout: '30 seconds' });

export async function floorWorkflow(input: FloorInput): Promise<string> {
  const { execute } = proxyActivities<FloorNodeActivities>({ taskQueue: input.nodeQueue, startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 1 } });
  const admitted = await admit(input.prompt);
  const result = await execute(admitted);
  const verified = await verify(result);
  return settle(verified);
}
