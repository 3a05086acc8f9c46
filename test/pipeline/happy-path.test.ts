import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { computePoe } from '../../src/crypto/poe.js';
import { getBalance } from '../../src/db/credits.js';
import { idToBytes32 } from '../../src/chain/index.js';
import { COORDINATOR_TASK_QUEUE } from '../../src/protocol/task-queues.js';
import type { InferenceResult, InferenceWorkflowInput } from '../../src/protocol/inference.js';
import { expectNoPlaintextInHistory } from '../helpers/history.js';
import { startTestNetwork, TEST_MODEL, type TestNetwork } from '../helpers/network.js';
import { FRANCE_32_TEXT, FRANCE_MESSAGES } from '../fixtures/reference-prompt.js';

const messages = FRANCE_MESSAGES;
const EXPECTED_TEXT = FRANCE_32_TEXT;

let network: TestNetwork;

beforeAll(async () => {
  network = await startTestNetwork({ policy: { sampleProbability: 0 }, operatorNames: ['alpha', 'beta', 'gamma'] });
}, 240_000);

afterAll(async () => {
  await network?.stop();
});

function run(input: Partial<InferenceWorkflowInput> & { userId: string }) {
  return network.client.workflow.start('inferenceWorkflow', {
    taskQueue: COORDINATOR_TASK_QUEUE,
    workflowId: `request-${randomUUID()}`,
    args: [{ model: TEST_MODEL, messages, maxNewTokens: 32, ...input }],
  });
}

test('a request walks all fourteen steps: anchored once, charged once, rewarded once', async () => {
  const userId = `user-${randomUUID()}`;
  await network.fund(userId, 100_000);
  const handle = await run({ userId });
  const result = (await handle.result()) as InferenceResult;

  expect(result.text).toBe(EXPECTED_TEXT);
  expect(result.usage).toEqual({ inputTokens: 39, outputTokens: 32 });
  expect(result.sampled).toBe(false);
  expect(result.verdict).toBe('Accepted');
  expect(result.poe).toBe(computePoe({ requestId: result.requestId, result: result.text, nodeId: result.nodeId }));

  const onChain = await network.readOnChain(result.requestId);
  expect(onChain?.poe.replace(/^0x/, '')).toBe(result.poe.replace(/^0x/, ''));
  expect(onChain?.verdict).toBe('Accepted');

  const { db } = network;
  const request = await db.inferenceRequest.findUniqueOrThrow({ where: { requestId: result.requestId } });
  expect(request.status).toBe('SETTLED');
  expect(request.nodeId).toBe(result.nodeId);
  const ledger = await db.creditLedgerEntry.findMany({ where: { requestId: result.requestId } });
  expect(ledger.filter((e) => e.kind === 'CAPTURE')).toHaveLength(1);
  const rewards = await db.rewardLedgerEntry.findMany({ where: { requestId: result.requestId } });
  expect(rewards).toHaveLength(1);
  expect(rewards[0]?.nodeId).toBe(result.nodeId);
  const expectedCharge = 39 * 1 + 32 * 2;
  expect(result.creditsCharged).toBe(expectedCharge);
  expect(await getBalance(db, userId)).toEqual({ balance: BigInt(100_000 - expectedCharge), held: 0n });
  const record = await db.executionRecord.findUniqueOrThrow({ where: { requestId: result.requestId } });
  expect(record.anchorTxHash).toBe(result.anchorTx);

  // Invariant 2: the history holds neither the prompt nor the result in clear (and both are in it, encrypted).
  const report = await expectNoPlaintextInHistory(await handle.fetchHistory(), {
    codec: network.codec,
    secrets: ['capital of France', 'You are a helpful assistant', 'Southern abundjoint', EXPECTED_TEXT],
  });
  // The input, the result, each local activity's result and summary (01 · 02 · 03 · 04, 10, 12 · 14), the dispatch's
  // summary: 9 (more when a step was retried).
  expect(report.payloads.encrypted).toBeGreaterThanOrEqual(9);
  // Only sealed operator messages stay readable: the 05 input (the sealed dispatch) and the sealed result. (03 · 04's
  // marker holds the dispatch with its node, not an operator message: the codec encrypts it.)
  expect(report.payloads.operatorWire).toBe(2);
});

test('insufficient credits: a typed failure, no request id, nothing dispatched', async () => {
  const userId = `poor-${randomUUID()}`;
  await network.fund(userId, 10);
  const handle = await run({ userId });
  const error = await handle.result().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(WorkflowFailedError);
  const cause = (error as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect((cause as ApplicationFailure).type).toBe('INSUFFICIENT_CREDITS');
  expect(await network.db.inferenceRequest.count({ where: { workflowId: handle.workflowId } })).toBe(0);
  expect(await getBalance(network.db, userId)).toEqual({ balance: 10n, held: 0n });
});

test.each([
  ['tolerant (the default): node_j scores node_i’s tokens', undefined],
  ['exact: node_j re-runs the request', 'exact' as const],
])('p = 1 with honest nodes, %s and agrees; one record, one execution reward, nothing in clear', async (_label, sampleMode) => {
  const userId = `user-${randomUUID()}`;
  await network.fund(userId, 100_000);
  const handle = await run({ userId, sampleProbability: 1, ...(sampleMode ? { sampleMode } : {}) });
  const result = (await handle.result()) as InferenceResult;
  const mode = sampleMode ?? 'tolerant';
  expect(result.text).toBe(EXPECTED_TEXT);
  expect(result.verdict).toBe('AcceptedSampledAgree');
  expect(result.mode).toBe(mode);
  expect(result.sampled).toBe(true);
  expect(result.sampledNodeIds).toHaveLength(1);
  const [sampledNode] = result.sampledNodeIds;
  expect(sampledNode).not.toBe(result.nodeId);
  expect(await network.db.nodePenalty.count({ where: { requestId: result.requestId } })).toBe(0);

  const onChain = await network.readOnChain(result.requestId);
  expect(onChain).toMatchObject({ verdict: 'AcceptedSampledAgree', mode, nodeKey: idToBytes32(result.nodeId), sampledNodeKey: idToBytes32(sampledNode!) });
  const rewards = await network.db.rewardLedgerEntry.findMany({ where: { requestId: result.requestId }, orderBy: { kind: 'asc' } });
  // A node that only scored earns a verification weight; a re-generating node_j (exact mode) earns nothing.
  expect(rewards.map((r) => [r.nodeId, r.kind])).toEqual([[result.nodeId, 'EXECUTION'], ...(mode === 'tolerant' ? [[sampledNode, 'VERIFICATION']] : [])]);
  expect(await network.db.creditLedgerEntry.count({ where: { requestId: result.requestId, kind: 'CAPTURE' } })).toBe(1);
  // node_j's work was sealed to it like the first dispatch (the request, or the prompt and the claim): nothing in clear.
  const report = await expectNoPlaintextInHistory(await handle.fetchHistory(), {
    codec: network.codec,
    secrets: ['capital of France', 'Southern abundjoint', EXPECTED_TEXT],
  });
  // Readable: each dispatch's sealed input and sealed result; tolerant mode's claim sealed to node_j is also the
  // marker of 11's seal-claim step. The markers of 03 · 04 (node and dispatch) are encrypted.
  expect(report.payloads.operatorWire).toBe(mode === 'tolerant' ? 5 : 4);
});
