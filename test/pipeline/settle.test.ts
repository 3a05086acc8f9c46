/**
 * Invariant 4 at the activity itself: step 14 refuses to capture or reward without an anchored ExecutionRecord,
 * whatever the workflow does (real activities on a real database; no chain is needed to refuse).
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { createAdmit } from '../../activities/admit.js';
import { createSettle } from '../../activities/settle.js';
import { loadCoordinatorPolicy } from '../../src/coordinator/config.js';
import { createPrismaClient, type PrismaClient } from '../../src/db/client.js';
import { getBalance, topUp } from '../../src/db/credits.js';
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
