import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { InferenceResult } from '../../src/protocol/inference.js';
import { startTestNetwork, type TestNetwork } from '../helpers/network.js';
import { LONG_GENERATIONS, startRequest, waitForDispatch } from '../helpers/scenarios.js';

let network: TestNetwork;

beforeAll(async () => {
  network = await startTestNetwork({ policy: { sampleProbability: 0 } });
  await network.startOperator('alpha', LONG_GENERATIONS);
}, 240_000);

afterAll(async () => {
  await network?.stop();
});

test('a coordinator holding another key than the result was sealed to hands the step on: the node is not blamed, the request completes once', async () => {
  const userId = `user-${randomUUID()}`;
  await network.fund(userId, 1_000_000);
  const handle = await startRequest(network, userId, 1900);
  const nodeId = await waitForDispatch(network, handle.workflowId); // sealed back to the in-process coordinator's key
  await network.stopCoordinators();

  // A misconfigured process (its own key file) gets the result: its workflow task fails instead of the request.
  const stray = await network.startCoordinatorProcess(1, { PARALLELIX_COORDINATOR_KEY_FILE: path.join(network.stateRoot, 'stray-key.json') });
  const failedTask = async (): Promise<string | undefined> => {
    const { events } = await handle.fetchHistory();
    const failure = events?.find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes?.failure;
    if (!failure?.encodedAttributes) return failure?.message ?? undefined;
    // Failure messages are encrypted in history (encodeCommonAttributes): the platform's codec opens them.
    const [opened] = await network.codec.decode([failure.encodedAttributes as Parameters<typeof network.codec.decode>[0][number]]);
    return (JSON.parse(Buffer.from(opened!.data!).toString()) as { message: string }).message;
  };
  let message: string | undefined;
  for (let i = 0; i < 600 && !message; i += 1) {
    message = await failedTask();
    if (!message) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(message).toContain('coordinator key mismatch');
  await network.stopCoordinators();
  expect(stray.cli.output()).toContain('result sealed to another coordinator key');

  // A process with the fleet's key file takes the retried workflow task and finishes the run.
  await network.startCoordinatorProcess(2);
  const result = (await handle.result()) as InferenceResult;
  expect(result.nodeId).toBe(nodeId);
  const { db } = network;
  expect(await db.nodePenalty.count({ where: { nodeId } })).toBe(0);
  expect(await db.creditLedgerEntry.count({ where: { requestId: result.requestId, kind: 'CAPTURE' } })).toBe(1);
  expect(await db.rewardLedgerEntry.count({ where: { requestId: result.requestId } })).toBe(1);
}, 240_000);
