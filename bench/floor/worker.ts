/**
 * One worker process of `npm run bench:floor`: `coordinator` runs the floor workflow and its local activities with
 * the coordinator's worker settings, `node` the activity on the node's task queue. Prints "ready" once polling.
 * Usage: worker.ts <coordinator|node> <address> <namespace> <coordinatorQueue> <nodeQueue>
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { floorCoordinatorActivities, floorNodeActivities } from './activities.js';

const [role, address, namespace, coordinatorQueue, nodeQueue] = process.argv.slice(2);
if ((role !== 'coordinator' && role !== 'node') || !address || !namespace || !coordinatorQueue || !nodeQueue) {
  console.error('usage: worker.ts <coordinator|node> <address> <namespace> <coordinatorQueue> <nodeQueue>');
  process.exit(2);
}
Runtime.install({ logger: new DefaultLogger('WARN') });
const connection = await NativeConnection.connect({ address });
const worker =
  role === 'coordinator'
    ? await Worker.create({
        connection,
        namespace,
        taskQueue: coordinatorQueue,
        workflowsPath: path.join(path.dirname(fileURLToPath(import.meta.url)), 'workflow.ts'),
        activities: floorCoordinatorActivities,
        // The coordinator's settings (src/coordinator/coordinator.ts).
        maxConcurrentWorkflowTaskExecutions: 40,
        maxConcurrentLocalActivityExecutions: 64,
      })
    : await Worker.create({ connection, namespace, taskQueue: nodeQueue, activities: floorNodeActivities, maxConcurrentActivityTaskExecutions: 16 });
process.once('SIGINT', () => worker.shutdown());
process.once('SIGTERM', () => worker.shutdown());
const running = worker.run();
console.log('ready');
await running;
await connection.close();
