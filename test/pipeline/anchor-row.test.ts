/**
 * Step 12 writes the record's row, then marks the request ANCHORED in a statement of its own. A coordinator that
 * stops between the two leaves a written record and a request still DISPATCHED: the retried step finds the record,
 * sends nothing and marks the request. A request already past step 12 is never set back.
 * Real activity on a real database; the retry never reaches the chain (its registry refuses every call).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createAdmit } from '../../activities/admit.js';
import { createAnchor, type AnchorInput } from '../../activities/anchor.js';
import type { RegistryClient } from '../../src/chain/registry.js';
import { createPrismaClient, type PrismaClient } from '../../src/db/client.js';
import { topUp } from '../../src/db/credits.js';
import { loadCoordinatorPolicy } from '../../src/policy/coordinator-policy.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
let db: PrismaClient;
const chainCalls: string[] = [];
/** Any call is a test failure: a retry of a written record has nothing to send or read. */
const noChain = new Proxy({} as RegistryClient, {
  get: (_target, name) => () => {
    chainCalls.push(String(name));
    throw new Error(`the chain was called: ${String(name)}`);
  },
});

beforeAll(async () => {
  database = await createTestDatabase();
  db = createPrismaClient(database.url, { maxConnections: 2 });
  await db.node.create({ data: { nodeId: 'node-anchor', signPublicKey: 'sign', boxPublicKey: 'box', capabilities: {}, lastAnnouncedAt: new Date() } });
});

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
});

async function dispatchedWithRecord(): Promise<AnchorInput> {
  const userId = `user-${randomUUID()}`;
  const requestId = randomUUID();
  await topUp(db, userId, 1_000n, `topup-${userId}`);
  await createAdmit({ db })({ requestId, workflowId: `request-${requestId}`, userId, model: 'm', maxCost: 300 });
  await db.inferenceRequest.update({ where: { requestId }, data: { status: 'DISPATCHED', step: 5, nodeId: 'node-anchor' } });
  const poe = randomBytes(32).toString('hex');
  // The record's row as the first attempt wrote it, just before it stopped.
  await db.executionRecord.create({
    data: { requestId, nodeId: 'node-anchor', poe: `0x${poe}`, verdict: 'UNSAMPLED', anchorTxHash: `0x${randomBytes(32).toString('hex')}`, blockNumber: 9n, anchoredAt: new Date() },
  });
  return { requestId, nodeId: 'node-anchor', poe, verdict: 'Accepted', sampledNodeId: null, mode: 'none', nodeDevice: 'cpu', sampledNodeDevice: null, check: null, dispute: null, signature: 'sig' };
}

test('a retry after the record row and before the request row marks the request ANCHORED, without the chain', async () => {
  const input = await dispatchedWithRecord();
  const anchor = createAnchor({ db, registry: noChain, policy: { ...loadCoordinatorPolicy({}), anchorBatchMax: 0 } });
  const result = await anchor(input);
  expect(result).toMatchObject({ alreadyAnchored: true, blockNumber: 9 });
  expect(await db.inferenceRequest.findUniqueOrThrow({ where: { requestId: input.requestId } })).toMatchObject({ status: 'ANCHORED', step: 12, verdict: 'UNSAMPLED' });
  expect(chainCalls).toEqual([]);
});

test('a request already past step 12 keeps its state when step 12 runs again', async () => {
  const input = await dispatchedWithRecord();
  await db.inferenceRequest.update({ where: { requestId: input.requestId }, data: { status: 'SETTLED', step: 14 } });
  const anchor = createAnchor({ db, registry: noChain, policy: { ...loadCoordinatorPolicy({}), anchorBatchMax: 0 } });
  expect(await anchor(input)).toMatchObject({ alreadyAnchored: true });
  expect(await db.inferenceRequest.findUniqueOrThrow({ where: { requestId: input.requestId } })).toMatchObject({ status: 'SETTLED', step: 14 });
  expect(chainCalls).toEqual([]);
});
