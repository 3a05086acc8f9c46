import { randomUUID } from 'node:crypto';
import { createPrismaClient, disconnect, type PrismaClient } from '../../src/db/client.js';
import { anchorStateOf, recordPlannedBatch } from '../../src/db/anchor-batches.js';
import { releaseHold, reserveHold, topUp } from '../../src/db/credits.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

/** Step 12's one query (activities/anchor.ts): each of its three answers read from the rows that give it. */

let database: TestDatabase;
let db: PrismaClient;
const nodeId = `node-${randomUUID()}`;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createPrismaClient(database.url);
  await db.node.create({ data: { nodeId, signPublicKey: randomUUID(), boxPublicKey: randomUUID(), capabilities: {} } });
});
afterAll(async () => {
  if (db) await disconnect(db);
  await database?.drop();
});

/** An admitted request: a funded user, a hold of 100 and the request row. */
async function admitted(): Promise<string> {
  const requestId = `req-${randomUUID()}`;
  const user = `user-${randomUUID()}`;
  await topUp(db, user, 1_000n, `topup-${requestId}`);
  await reserveHold(db, { userExternalId: user, requestId, amount: 100n }, async (tx, { userId }) => {
    await tx.inferenceRequest.create({ data: { requestId, workflowId: `wf-${requestId}`, userId, model: 'm', maxCost: 100n } });
  });
  return requestId;
}

test('an unknown request: no hold, no row, no batch', async () => {
  expect(await anchorStateOf(db, `req-${randomUUID()}`)).toEqual({ holdStatus: null, written: null, planned: null });
});

test('an admitted request: its hold only; a released hold reads RELEASED', async () => {
  const requestId = await admitted();
  expect(await anchorStateOf(db, requestId)).toEqual({ holdStatus: 'HELD', written: null, planned: null });
  await releaseHold(db, requestId);
  expect((await anchorStateOf(db, requestId)).holdStatus).toBe('RELEASED');
});

test('a record row counts as written only with its transaction and block', async () => {
  const requestId = await admitted();
  const record = { requestId, nodeId, poe: `0x${'ab'.repeat(32)}`, verdict: 'UNSAMPLED' as const };
  await db.executionRecord.create({ data: record });
  expect((await anchorStateOf(db, requestId)).written).toBeNull();
  await db.executionRecord.update({ where: { requestId }, data: { anchorTxHash: `0x${'12'.repeat(32)}` } });
  expect((await anchorStateOf(db, requestId)).written).toBeNull();
  await db.executionRecord.update({ where: { requestId }, data: { blockNumber: 7n } });
  expect((await anchorStateOf(db, requestId)).written).toEqual({ txHash: `0x${'12'.repeat(32)}`, blockNumber: 7n });
});

test('a planned batch: its root, calldata and the record’s place in it', async () => {
  const [first, second] = [await admitted(), await admitted()];
  const root = `0x${randomUUID().replace(/-/g, '').padEnd(64, '0')}`;
  await recordPlannedBatch(db, { root, packed: '0xbeef', requestIds: [first, second] });
  expect(await anchorStateOf(db, second)).toEqual({ holdStatus: 'HELD', written: null, planned: { root, packed: '0xbeef', position: 1 } });
  expect((await anchorStateOf(db, first)).planned).toEqual({ root, packed: '0xbeef', position: 0 });
});
