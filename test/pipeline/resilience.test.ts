import { randomUUID } from 'node:crypto';
import { getBalance } from '../../src/db/credits.js';
import type { InferenceResult, RequestStatus } from '../../src/protocol/inference.js';
import { ANVIL_DEPLOYER_PRIVATE_KEY } from '../../src/chain/index.js';
import { spawnCli } from '../helpers/cli-process.js';
import { startTestNetwork, type TestNetwork } from '../helpers/network.js';
import { expectConcurrentAdmission, LONG_GENERATIONS, startRequest, waitForDispatch } from '../helpers/scenarios.js';

let network: TestNetwork;

beforeAll(async () => {
  network = await startTestNetwork({ policy: { sampleProbability: 0, dispatchHeartbeatSeconds: 5 } });
  for (const name of ['alpha', 'beta', 'gamma']) await network.startOperator(name, LONG_GENERATIONS);
}, 240_000);

afterAll(async () => {
  await network?.stop();
});

const start = (userId: string, maxNewTokens: number) => startRequest(network, userId, maxNewTokens);

test('20 concurrent requests on a balance covering 10: exactly 10 run, the balance never goes negative', async () => {
  await expectConcurrentAdmission(network);
}, 180_000);

test('a node killed mid-inference: the request is re-matched to another node and completes', async () => {
  const userId = `user-${randomUUID()}`;
  await network.fund(userId, 1_000_000);
  const handle = await start(userId, 1500);
  const victim = await waitForDispatch(network, handle.workflowId);
  const [name, entry] = [...network.operators.entries()].find(([, op]) => op.nodeId === victim)!;
  await entry.process.stop('SIGKILL');
  network.operators.delete(name);
  const result = (await handle.result()) as InferenceResult;
  expect(result.nodeId).not.toBe(victim);
  expect(result.usage.outputTokens).toBeGreaterThan(0);
  const status = (await handle.query('status')) as RequestStatus;
  expect(status.triedNodeIds[0]).toBe(victim);
  expect(await network.db.rewardLedgerEntry.count({ where: { requestId: result.requestId } })).toBe(1);
  await network.startOperator(name, LONG_GENERATIONS);
}, 180_000);

test('the coordinator process killed (SIGKILL) and restarted mid-run: the request completes exactly once', async () => {
  // The in-process coordinator steps aside; a real `parallelix coordinator` process takes over and is killed.
  await network.stopCoordinators();
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
  await waitForDispatch(network, handle.workflowId);
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
