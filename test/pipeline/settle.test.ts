/**
 * Invariant 4 at the activity itself: step 14 refuses to capture or reward without an anchored ExecutionRecord,
 * whatever the workflow does (real activities on a real database; no chain is needed to refuse).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { createAdmit } from '../../activities/admit.js';
import { createSettle } from '../../activities/settle.js';
import { loadCoordinatorPolicy } from '../../src/policy/coordinator-policy.js';
import { createPrismaClient, type PrismaClient } from '../../src/db/client.js';
import { getBalance, topUp } from '../../src/db/credits.js';
import { IdempotencyConflictError } from '../../src/db/errors.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
let db: PrismaClient;
const policy = loadCoordinatorPolicy({});

beforeAll(async () => {
  database = await createTestDatabase();
  db = createPrismaClient(database.url, { maxConnections: 2 });
  await db.node.create({
    data: { nodeId: 'node-settle', signPublicKey: 'sign', boxPublicKey: 'box', capabilities: {}, lastAnnouncedAt: new Date() },
  });
});

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
});

test('settle without an anchored record: refused (NOT_ANCHORED, not retried), nothing captured or rewarded; with one it settles', async () => {
  const userId = `user-${randomUUID()}`;
  const requestId = randomUUID();
  await topUp(db, userId, 1_000n, `topup-${userId}`);
  await createAdmit({ db })({ requestId, workflowId: `request-${requestId}`, userId, model: 'm', maxCost: 300 });
  const settle = createSettle({ db, policy });
  const input = { requestId, nodeId: 'node-settle', usage: { inputTokens: 10, outputTokens: 20 } };

  const refusals: unknown[] = [await settle(input).catch((e: unknown) => e)];
  // A record that is not anchored yet (no transaction) is no better.
  await db.executionRecord.create({ data: { requestId, nodeId: 'node-settle', poe: `0x${'11'.repeat(32)}`, verdict: 'UNSAMPLED' } });
  refusals.push(await settle(input).catch((e: unknown) => e));
  for (const refusal of refusals) {
    expect(refusal).toBeInstanceOf(ApplicationFailure);
    expect(refusal).toMatchObject({ type: 'NOT_ANCHORED', nonRetryable: true });
  }
  expect(await getBalance(db, userId)).toEqual({ balance: 700n, held: 300n });
  expect(await db.creditLedgerEntry.count({ where: { requestId, kind: 'CAPTURE' } })).toBe(0);
  expect(await db.rewardLedgerEntry.count({ where: { requestId } })).toBe(0);

  await db.executionRecord.update({ where: { requestId }, data: { anchorTxHash: `0x${'22'.repeat(32)}`, blockNumber: 7n, anchoredAt: new Date() } });
  const settled = await settle(input);
  expect(settled.charged).toBe(10 * 1 + 20 * 2);
  expect(await getBalance(db, userId)).toEqual({ balance: 1_000n - 50n, held: 0n });
  expect(await db.rewardLedgerEntry.count({ where: { requestId } })).toBe(1);
});

test.each([
  ['huge', { inputTokens: 10, outputTokens: 1e12 }, 300],
  ['negative', { inputTokens: -5, outputTokens: 20 }, 40],
  ['NaN (null on the wire)', { inputTokens: 10, outputTokens: null }, 10],
  ['fractional', { inputTokens: 10.5, outputTokens: 20 }, 40],
  ['not a number', { inputTokens: '10', outputTokens: 20 }, 40],
])('settle is never wedged by %s usage (a run verified before usage was counted): it settles within the hold', async (_name, usage, charged) => {
  const userId = `user-${randomUUID()}`;
  const requestId = randomUUID();
  await topUp(db, userId, 1_000n, `topup-${userId}`);
  await createAdmit({ db })({ requestId, workflowId: `request-${requestId}`, userId, model: 'm', maxCost: 300 });
  await db.executionRecord.create({
    data: { requestId, nodeId: 'node-settle', poe: `0x${'11'.repeat(32)}`, verdict: 'UNSAMPLED', anchorTxHash: `0x${randomBytes(32).toString('hex')}`, blockNumber: 7n, anchoredAt: new Date() },
  });
  // What a node could once put in its result's usage, as it reaches Settle through history (JSON).
  const settled = await createSettle({ db, policy })({ requestId, nodeId: 'node-settle', usage: usage as never });
  expect(settled.charged).toBe(charged);
  expect(await getBalance(db, userId)).toEqual({ balance: 1_000n - BigInt(charged), held: 0n });
  const row = await db.inferenceRequest.findUniqueOrThrow({ where: { requestId } });
  for (const count of [row.tokensIn, row.tokensOut]) expect(Number.isSafeInteger(count) && count! >= 0 && count! <= 2_147_483_647).toBe(true);
});

test('admit commits the hold with its request row: a retry holds once; a workflow id taken by another request holds nothing', async () => {
  const userId = `user-${randomUUID()}`;
  const requestId = randomUUID();
  const workflowId = `request-${requestId}`;
  await topUp(db, userId, 1_000n, `topup-${userId}`);
  const admit = createAdmit({ db });
  expect(await admit({ requestId, workflowId, userId, model: 'm', maxCost: 300 })).toEqual({ held: 300 });
  expect(await admit({ requestId, workflowId, userId, model: 'm', maxCost: 300 })).toEqual({ held: 300 });
  expect(await getBalance(db, userId)).toEqual({ balance: 700n, held: 300n });
  expect(await db.inferenceRequest.findUniqueOrThrow({ where: { requestId } })).toMatchObject({ workflowId, status: 'ADMITTED', maxCost: 300n });

  const other = randomUUID();
  await expect(admit({ requestId: other, workflowId, userId, model: 'm', maxCost: 100 })).rejects.toBeInstanceOf(IdempotencyConflictError);
  expect(await db.creditHold.findUnique({ where: { requestId: other } })).toBeNull();
  expect(await db.inferenceRequest.findUnique({ where: { requestId: other } })).toBeNull();
  expect(await getBalance(db, userId)).toEqual({ balance: 700n, held: 300n });
});
