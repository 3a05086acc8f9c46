/**
 * The Temporal floor of `npm run bench` and `npm run bench:floor` (bench/temporal-floor.ts): its two worker processes
 * on a real Temporal dev server run the floor workflow to completion, and each process's CPU per run is measured.
 */
import { startTestTemporal, type TestTemporal } from '../helpers/temporal.js';
import { startFloorWorkers, type FloorWorkers } from '../../bench/temporal-floor.js';

let temporal: TestTemporal;
let floor: FloorWorkers;

beforeAll(async () => {
  temporal = await startTestTemporal();
  floor = await startFloorWorkers({ address: temporal.server.address, namespace: temporal.server.namespace, client: temporal.client, serverPid: temporal.serverPid });
});

afterAll(async () => {
  await floor?.stop();
  await temporal?.stop();
});

test('runs the floor workflow through both worker processes and reports CPU per run for each process', async () => {
  const point = await floor.measure(6, 3);
  expect(point).toMatchObject({ runs: 6, concurrency: 3 });
  expect(point.runsPerSecond).toBeGreaterThan(0);
  expect(point.latencyMs.p50).toBeGreaterThan(0);
  // Every process did work for the runs: the workflow worker, the node worker, the server, this client.
  for (const service of ['worker', 'node', 'temporal', 'client'] as const) expect(point.cpuMsPerRun[service]).toBeGreaterThan(0);
  expect(point.cpuMsPerRun.total).toBeCloseTo(point.cpuMsPerRun.worker + point.cpuMsPerRun.node + point.cpuMsPerRun.temporal + point.cpuMsPerRun.client, 0);
  // The node's one activity ran on the node's own queue: its history shows the activity's completion.
  let workflowId: string | undefined;
  for await (const run of temporal.client.workflow.list({ query: 'WorkflowType = "floorWorkflow" AND ExecutionStatus = "Completed"' })) {
    workflowId = run.workflowId;
    break;
  }
  const history = await temporal.client.workflow.getHandle(workflowId!).fetchHistory();
  expect(history.events?.some((e) => e.activityTaskCompletedEventAttributes)).toBe(true);
});
