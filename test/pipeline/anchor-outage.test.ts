/**
 * A chain outage longer than step 12's retries does not throw verified work away (issue 14, deliverable 4): anvil
 * (state persisted) is killed before a request reaches step 12, the run exhausts its anchor attempts, then waits
 * for the chain with its hold kept and PipelineStep saying so; anvil comes back from its state file and the run
 * completes with exactly one record on chain, one capture and one reward.
 */
import { randomUUID } from 'node:crypto';
import { ANCHOR_WAITING_STEP, type InferenceResult, type RequestStatus } from '../../src/protocol/inference.js';
import { startTestNetwork, type TestNetwork } from '../helpers/network.js';
import { waitFor } from '../helpers/observe.js';
import { startRequest } from '../helpers/scenarios.js';

let network: TestNetwork;

beforeAll(async () => {
  // Three attempts (under a second of backoff) instead of twenty (about 7 minutes): the same path, sooner.
  network = await startTestNetwork({ persistChain: true, policy: { sampleProbability: 0, anchorAttempts: 3 } });
  await network.startOperator('alpha');
}, 240_000);

afterAll(async () => {
  await network?.stop();
});

test('past the anchor retries the run waits for the chain, then completes: one record, one capture, one reward', async () => {
  const userId = `user-${randomUUID()}`;
  await network.fund(userId, 1_000_000);
  await network.killChain();
  const handle = await startRequest(network, userId, 8, [{ role: 'user', content: 'Say hello to the sea.' }]);

  const waiting = await waitFor('the run waiting for the chain', async () => {
    const status = await handle.query<RequestStatus>('status');
    return status.step === ANCHOR_WAITING_STEP ? status : undefined;
  }, 120_000, 250);
  const requestId = waiting.requestId!;
  const described = await handle.describe();
  expect(described.status.name).toBe('RUNNING');
  expect(described.searchAttributes.PipelineStep).toEqual([ANCHOR_WAITING_STEP]);
  // The verified work keeps its hold: nothing captured, released or rewarded while the chain is away.
  const hold = await network.db.creditHold.findUniqueOrThrow({ where: { requestId } });
  expect(hold.status).toBe('HELD');
  expect(await network.db.rewardLedgerEntry.count({ where: { requestId } })).toBe(0);

  await network.restartChain();
  const result = (await handle.result()) as InferenceResult;
  expect(result.requestId).toBe(requestId);
  const onChain = await network.readOnChain(requestId);
  expect(onChain).not.toBeNull();
  expect(onChain?.blockNumber).toBe(result.anchorBlock);
  expect(await network.db.executionRecord.count({ where: { requestId } })).toBe(1);
  const entries = await network.db.creditLedgerEntry.findMany({ where: { requestId } });
  expect(entries.filter((e) => e.kind === 'CAPTURE')).toHaveLength(1);
  expect(entries.filter((e) => e.kind === 'HOLD')).toHaveLength(1);
  expect(await network.db.creditHold.findUniqueOrThrow({ where: { requestId } })).toMatchObject({ status: 'CAPTURED' });
  expect(await network.db.rewardLedgerEntry.count({ where: { requestId } })).toBe(1);
}, 300_000);
