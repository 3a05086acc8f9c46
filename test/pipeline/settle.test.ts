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
import { captureHold, getBalance, releaseHold, topUp } from '../../src/db/credits.js';
import { admitInOneStatement } from '../../src/db/admit-statement.js';
import { settleInOneStatement } from '../../src/db/settle-statement.js';
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

/** A request admitted for `maxCost` with an anchored record (ready for step 14). */
async function anchoredRequest(userId: string, maxCost: number): Promise<string> {
  const requestId = randomUUID();
  await createAdmit({ db })({ requestId, workflowId: `request-${requestId}`, userId, model: 'm', maxCost });
  await db.executionRecord.create({
    data: { requestId, nodeId: 'node-settle', poe: `0x${'11'.repeat(32)}`, verdict: 'UNSAMPLED', anchorTxHash: `0x${randomBytes(32).toString('hex')}`, blockNumber: 7n, anchoredAt: new Date() },
  });
  return requestId;
}

test('admit in one statement: the hold, its ledger entry and the request row; concurrent admits never overdraw; a second try changes nothing', async () => {
  const userId = `user-${randomUUID()}`;
  await topUp(db, userId, 1_000n, `topup-${userId}`);
  const admit = createAdmit({ db });
  // Twelve at once on one account that covers five.
  const ids = Array.from({ length: 12 }, () => randomUUID());
  const outcomes = await Promise.allSettled(ids.map((requestId) => admit({ requestId, workflowId: `request-${requestId}`, userId, model: 'm', maxCost: 200 })));
  const held = outcomes.filter((o) => o.status === 'fulfilled');
  expect(held).toHaveLength(5);
  for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ type: 'INSUFFICIENT_CREDITS' });
  expect(await getBalance(db, userId)).toEqual({ balance: 0n, held: 1_000n });
  const holds = await db.creditHold.findMany({ where: { requestId: { in: ids } } });
  expect(holds).toHaveLength(5);
  for (const hold of holds) {
    expect(hold).toMatchObject({ amount: 200n, status: 'HELD', workflowId: `request-${hold.requestId}` });
    expect(await db.inferenceRequest.findUniqueOrThrow({ where: { requestId: hold.requestId } })).toMatchObject({ status: 'ADMITTED', step: 2, maxCost: 200n });
    expect(await db.creditLedgerEntry.findUniqueOrThrow({ where: { idempotencyKey: `hold:${hold.requestId}` } })).toMatchObject({ kind: 'HOLD', amount: 200n });
  }
  // The ledger's running balances are those of one account moved five times under its lock.
  const after = (await db.creditLedgerEntry.findMany({ where: { requestId: { in: ids } } })).map((e) => e.balanceAfter).sort((a, b) => Number(b - a));
  expect(after).toEqual([800n, 600n, 400n, 200n, 0n]);
  // The statement itself: a hold already there, or no account, changes nothing (the transaction tells them apart).
  const first = holds[0]!.requestId;
  expect(await admitInOneStatement(db, { userExternalId: userId, requestId: first, workflowId: `request-${first}`, model: 'm', amount: 1n })).toBe(false);
  expect(await admitInOneStatement(db, { userExternalId: `nobody-${randomUUID()}`, requestId: randomUUID(), workflowId: randomUUID(), model: 'm', amount: 1n })).toBe(false);
  expect(await getBalance(db, userId)).toEqual({ balance: 0n, held: 1_000n });
});

test('settle in one statement: the outcome the transaction gives, written once; a repeat and a released hold change nothing', async () => {
  const userId = `user-${randomUUID()}`;
  await topUp(db, userId, 1_000n, `topup-${userId}`);
  const settle = createSettle({ db, policy });
  const usage = { inputTokens: 10, outputTokens: 20 };
  // The same settle through the statement (a first try) and through the transaction (captureHold), side by side.
  const [viaStatement, viaTransaction] = [await anchoredRequest(userId, 300), await anchoredRequest(userId, 300)];
  const first = await settle({ requestId: viaStatement, nodeId: 'node-settle', usage, returned: true });
  await captureHold(db, { requestId: viaTransaction, amount: 50n });
  expect(first).toEqual({ charged: 50, released: 250, rewardWeight: 50, uptimeFactor: 1, verificationWeights: [] });
  const [a, b] = await Promise.all([viaStatement, viaTransaction].map((requestId) => db.creditHold.findUniqueOrThrow({ where: { requestId } })));
  expect({ ...a, id: '', requestId: '', workflowId: '', createdAt: null, settledAt: null }).toEqual({ ...b, id: '', requestId: '', workflowId: '', createdAt: null, settledAt: null });
  const ledger = (requestId: string) => db.creditLedgerEntry.findMany({ where: { requestId }, orderBy: { id: 'asc' }, select: { kind: true, amount: true } });
  expect(await ledger(viaStatement)).toEqual(await ledger(viaTransaction));
  expect(await ledger(viaStatement)).toEqual([{ kind: 'HOLD', amount: 300n }, { kind: 'CAPTURE', amount: 50n }, { kind: 'RELEASE', amount: 250n }]);
  const row = await db.inferenceRequest.findUniqueOrThrow({ where: { requestId: viaStatement } });
  expect(row).toMatchObject({ status: 'SETTLED', step: 14, actualCost: 50n, tokensIn: 10, tokensOut: 20 });
  expect(row.completedAt).not.toBeNull();
  expect(row.settledAt).not.toBeNull();
  expect(await db.rewardLedgerEntry.findMany({ where: { requestId: viaStatement }, select: { nodeId: true, kind: true, weight: true } })).toEqual([{ nodeId: 'node-settle', kind: 'EXECUTION', weight: 50n }]);

  // A repeat: the statement changes nothing; the activity answers as the first time (from the transaction).
  const write = { requestId: viaStatement, charge: 50n, rewards: [], usage, returned: true };
  expect(await settleInOneStatement(db, write)).toBeNull();
  expect(await settle({ requestId: viaStatement, nodeId: 'node-settle', usage, returned: true })).toEqual(first);
  expect(await getBalance(db, userId)).toEqual({ balance: 1_000n - 50n - 50n, held: 0n });
  // A charge above the hold (the transaction caps it), or a hold released since: nothing.
  const released = await anchoredRequest(userId, 100);
  expect(await settleInOneStatement(db, { ...write, requestId: released, charge: 101n })).toBeNull();
  await releaseHold(db, released);
  expect(await settleInOneStatement(db, { ...write, requestId: released, charge: 10n })).toBeNull();
  expect(await db.creditLedgerEntry.count({ where: { requestId: released, kind: 'CAPTURE' } })).toBe(0);
});

test('settle racing a release of the same hold: exactly one applies, neither fails, the account adds up', async () => {
  const userId = `user-${randomUUID()}`;
  await topUp(db, userId, 10_000n, `topup-${userId}`);
  const settle = createSettle({ db, policy });
  const ids: string[] = [];
  for (let i = 0; i < 8; i += 1) ids.push(await anchoredRequest(userId, 300));
  await Promise.all(ids.flatMap((requestId) => [
    settle({ requestId, nodeId: 'node-settle', usage: { inputTokens: 10, outputTokens: 20 } }).catch((error: unknown) => {
      // Released first: the transaction's typed refusal, never a lock error.
      expect(String(error)).toMatch(/already released/);
    }),
    releaseHold(db, requestId),
  ]));
  const holds = await db.creditHold.findMany({ where: { requestId: { in: ids } } });
  const captured = holds.filter((h) => h.status === 'CAPTURED').length;
  expect(holds.filter((h) => h.status === 'HELD')).toHaveLength(0);
  expect(await getBalance(db, userId)).toEqual({ balance: 10_000n - BigInt(captured) * 50n, held: 0n });
  for (const hold of holds) {
    const kinds = (await db.creditLedgerEntry.findMany({ where: { requestId: hold.requestId }, select: { kind: true } })).map((e) => e.kind).sort();
    expect(kinds).toEqual(hold.status === 'CAPTURED' ? ['CAPTURE', 'HOLD', 'RELEASE'] : ['HOLD', 'RELEASE']);
  }
});
