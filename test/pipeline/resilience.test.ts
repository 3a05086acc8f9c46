import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { getBalance } from '../../src/db/credits.js';
import { COORDINATOR_TASK_QUEUE } from '../../src/protocol/task-queues.js';
import type { InferenceResult, InferenceWorkflowInput, RequestStatus } from '../../src/protocol/inference.js';
import { ANVIL_DEPLOYER_PRIVATE_KEY } from '../../src/chain/index.js';
import { spawnCli } from '../helpers/cli-process.js';
import { startTestNetwork, TEST_MODEL, type TestNetwork } from '../helpers/network.js';

const messages: InferenceWorkflowInput['messages'] = [{ role: 'user', content: 'Tell me a long story about the sea.' }];
const LONG = { PARALLELIX_MAX_CONTEXT_TOKENS: '2048', PARALLELIX_MAX_NEW_TOKENS: '2000' };

let network: TestNetwork;

beforeAll(async () => {
  network = await startTestNetwork({ policy: { sampleProbability: 0, dispatchHeartbeatSeconds: 5 } });
  for (const name of ['alpha', 'beta', 'gamma']) await network.startOperator(name, LONG);
}, 240_000);

afterAll(async () => {
  await network?.stop();
});

function start(userId: string, maxNewTokens: number) {
  return network.client.workflow.start('inferenceWorkflow', {
    taskQueue: COORDINATOR_TASK_QUEUE,
    workflowId: `request-${randomUUID()}`,
    args: [{ userId, model: TEST_MODEL, messages, maxNewTokens } satisfies InferenceWorkflowInput],
  });
}

async function waitForDispatch(workflowId: string): Promise<string> {
  for (let i = 0; i < 300; i += 1) {
    const row = await network.db.inferenceRequest.findUnique({ where: { workflowId } });
    if (row?.status === 'DISPATCHED' && row.nodeId) return row.nodeId;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('request was never dispatched');
}

test('20 concurrent requests on a balance covering 10: exactly 10 run, the balance never goes negative', async () => {
  const userId = `user-${randomUUID()}`;
  // Long generations: every admission (step 02) happens long before the first settle releases unused credits.
  const maxNewTokens = 400;
  const maxCost = 16 + Buffer.byteLength(messages[0]!.content) + 16 + maxNewTokens * 2;
  await network.fund(userId, maxCost * 10);
  const handles = await Promise.all(Array.from({ length: 20 }, () => start(userId, maxNewTokens)));
  const outcomes = await Promise.all(handles.map((h) => h.result().then((r: InferenceResult) => r, (e: unknown) => e)));
  const completed = outcomes.filter((o): o is InferenceResult => !(o instanceof Error));
  const refused = outcomes.filter((o) => o instanceof WorkflowFailedError);
  expect(completed).toHaveLength(10);
  expect(refused).toHaveLength(10);
  for (const error of refused) expect(((error as WorkflowFailedError).cause as ApplicationFailure).type).toBe('INSUFFICIENT_CREDITS');
  const charged = completed.reduce((sum, r) => sum + r.creditsCharged, 0);
  const balance = await getBalance(network.db, userId);
  expect(balance).toEqual({ balance: BigInt(maxCost * 10 - charged), held: 0n });
  expect(await network.db.creditLedgerEntry.count({ where: { user: { externalId: userId }, kind: 'CAPTURE' } })).toBe(10);
}, 180_000);

test('a node killed mid-inference: the request is re-matched to another node and completes', async () => {
  const userId = `user-${randomUUID()}`;
  await network.fund(userId, 1_000_000);
  const handle = await start(userId, 1500);
  const victim = await waitForDispatch(handle.workflowId);
  const [name, entry] = [...network.operators.entries()].find(([, op]) => op.nodeId === victim)!;
  await entry.process.stop('SIGKILL');
  network.operators.delete(name);
  const result = (await handle.result()) as InferenceResult;
  expect(result.nodeId).not.toBe(victim);
  expect(result.usage.outputTokens).toBeGreaterThan(0);
  const status = (await handle.query('status')) as RequestStatus;
  expect(status.triedNodeIds[0]).toBe(victim);
  expect(await network.db.rewardLedgerEntry.count({ where: { requestId: result.requestId } })).toBe(1);
  await network.startOperator(name, LONG);
}, 180_000);

test('the coordinator process killed (SIGKILL) and restarted mid-run: the request completes exactly once', async () => {
  // The in-process coordinator steps aside; a real `parallelix coordinator` process takes over and is killed.
  await network.coordinator.stop();
  const env = {
    ...network.cliEnv(),
    PARALLELIX_CHAIN_PRIVATE_KEY: ANVIL_DEPLOYER_PRIVATE_KEY,
    PARALLELIX_SAMPLE_PROBABILITY: '0',
    PARALLELIX_DISPATCH_HEARTBEAT_SECONDS: '5',
  };
  const first = spawnCli(['coordinator'], env);
  await first.waitFor('coordinator ready');
  const userId = `user-${randomUUID()}`;
  await network.fund(userId, 1_000_000);
  const handle = await start(userId, 1500);
  await waitForDispatch(handle.workflowId);
  first.child.kill('SIGKILL');
  await first.exited;
  const second = spawnCli(['coordinator'], env);
  try {
    await second.waitFor('coordinator ready');
    const result = (await handle.result()) as InferenceResult;
    const { db } = network;
    expect(await db.creditLedgerEntry.count({ where: { requestId: result.requestId, kind: 'CAPTURE' } })).toBe(1);
    expect(await db.rewardLedgerEntry.count({ where: { requestId: result.requestId } })).toBe(1);
    expect(await db.executionRecord.count({ where: { requestId: result.requestId } })).toBe(1);
    const balance = await getBalance(db, userId);
    expect(balance).toEqual({ balance: BigInt(1_000_000 - result.creditsCharged), held: 0n });
  } finally {
    second.child.kill('SIGINT');
    await second.exited;
  }
}, 180_000);
