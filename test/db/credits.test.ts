import { randomUUID } from 'node:crypto';
import { createPrismaClient, disconnect, type PrismaClient } from '../../src/db/client.js';
import {
  captureHold,
  getBalance,
  getHold,
  releaseHold,
  reserveHold,
  topUp,
} from '../../src/db/credits.js';
import { HoldStateError, IdempotencyConflictError, InsufficientCreditsError } from '../../src/db/errors.js';
import { InvalidInputError } from '../../src/shared/errors.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
let db: PrismaClient;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createPrismaClient(database.url);
});
afterAll(async () => {
  if (db) await disconnect(db);
  await database?.drop();
});

const newUser = () => `user-${randomUUID()}`;
const newRequest = () => `req-${randomUUID()}`;

async function ledger(requestId: string) {
  return db.creditLedgerEntry.findMany({ where: { requestId }, orderBy: { id: 'asc' } });
}

describe('topUp', () => {
  test('creates the account and applies each idempotency key once', async () => {
    const user = newUser();
    expect(await topUp(db, user, 100n, 'payment-1')).toEqual({ balance: 100n, held: 0n, applied: true });
    expect(await topUp(db, user, 100n, 'payment-1')).toEqual({ balance: 100n, held: 0n, applied: false });
    expect(await topUp(db, user, 5n, 'payment-2')).toEqual({ balance: 105n, held: 0n, applied: true });
    await expect(topUp(db, user, 7n, 'payment-1')).rejects.toBeInstanceOf(IdempotencyConflictError);
    await expect(topUp(db, user, 0n, 'payment-3')).rejects.toBeInstanceOf(InvalidInputError);
    expect(await getBalance(db, user)).toEqual({ balance: 105n, held: 0n });
  });

  test('concurrent retries of one top-up apply it once', async () => {
    const user = newUser();
    const results = await Promise.all(Array.from({ length: 8 }, () => topUp(db, user, 40n, 'same-key')));
    expect(results.filter((r) => r.applied)).toHaveLength(1);
    expect(await getBalance(db, user)).toEqual({ balance: 40n, held: 0n });
  });
});

describe('reserveHold', () => {
  test('20 concurrent holds on a balance covering 10: exactly 10 succeed, never overdrawn', async () => {
    const user = newUser();
    await topUp(db, user, 100n, 'seed');
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => reserveHold(db, { userExternalId: user, requestId: `${user}-r${i}`, amount: 10n })),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(10);
    expect(refused).toHaveLength(10);
    for (const r of refused) expect(r.reason).toBeInstanceOf(InsufficientCreditsError);
    expect(await getBalance(db, user)).toEqual({ balance: 0n, held: 100n });
    const holds = await db.creditHold.findMany({ where: { user: { externalId: user } } });
    expect(holds).toHaveLength(10);
    const entries = await db.creditLedgerEntry.findMany({ where: { user: { externalId: user }, kind: 'HOLD' } });
    expect(entries).toHaveLength(10);
    expect(entries.every((e) => e.balanceAfter >= 0n)).toBe(true);
  });

  test('a retry returns the existing hold without holding twice', async () => {
    const user = newUser();
    const requestId = newRequest();
    await topUp(db, user, 50n, 'seed');
    const first = await reserveHold(db, { userExternalId: user, requestId, amount: 30n });
    expect(first).toMatchObject({ requestId, userExternalId: user, amount: 30n, status: 'HELD', applied: true });
    const again = await reserveHold(db, { userExternalId: user, requestId, amount: 30n });
    expect(again).toMatchObject({ requestId, amount: 30n, status: 'HELD', applied: false });
    expect(await getBalance(db, user)).toEqual({ balance: 20n, held: 30n });
    await expect(reserveHold(db, { userExternalId: user, requestId, amount: 31n })).rejects.toBeInstanceOf(
      IdempotencyConflictError,
    );
  });

  test('concurrent retries of one hold apply it once', async () => {
    const user = newUser();
    const requestId = newRequest();
    await topUp(db, user, 50n, 'seed');
    const results = await Promise.all(
      Array.from({ length: 6 }, () => reserveHold(db, { userExternalId: user, requestId, amount: 20n })),
    );
    expect(results.filter((r) => r.applied)).toHaveLength(1);
    expect(await getBalance(db, user)).toEqual({ balance: 30n, held: 20n });
  });

  test('refuses an unknown account, an overdraft and a non-positive amount', async () => {
    const user = newUser();
    await expect(reserveHold(db, { userExternalId: user, requestId: newRequest(), amount: 1n })).rejects.toMatchObject({
      code: 'INSUFFICIENT_CREDITS',
      available: 0n,
    });
    await topUp(db, user, 9n, 'seed');
    await expect(reserveHold(db, { userExternalId: user, requestId: newRequest(), amount: 10n })).rejects.toMatchObject({
      code: 'INSUFFICIENT_CREDITS',
      requested: 10n,
      available: 9n,
    });
    await expect(reserveHold(db, { userExternalId: user, requestId: newRequest(), amount: 0n })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    expect(await getBalance(db, user)).toEqual({ balance: 9n, held: 0n });
  });
});

describe('captureHold and releaseHold', () => {
  test('capture charges the actual cost, releases the rest, and is idempotent', async () => {
    const user = newUser();
    const requestId = newRequest();
    await topUp(db, user, 100n, 'seed');
    await reserveHold(db, { userExternalId: user, requestId, amount: 50n });

    const captured = await captureHold(db, { requestId, amount: 30n });
    expect(captured).toMatchObject({ status: 'CAPTURED', capturedAmount: 30n, releasedAmount: 20n, applied: true });
    expect(await getBalance(db, user)).toEqual({ balance: 70n, held: 0n });

    const again = await captureHold(db, { requestId, amount: 30n });
    expect(again).toMatchObject({ status: 'CAPTURED', capturedAmount: 30n, releasedAmount: 20n, applied: false });
    const afterRelease = await releaseHold(db, requestId);
    expect(afterRelease).toMatchObject({ status: 'CAPTURED', applied: false });
    expect(await getBalance(db, user)).toEqual({ balance: 70n, held: 0n });

    const entries = await ledger(requestId);
    expect(entries.map((e) => [e.kind, e.amount])).toEqual([
      ['HOLD', 50n],
      ['CAPTURE', 30n],
      ['RELEASE', 20n],
    ]);
  });

  test('concurrent captures of one hold charge once', async () => {
    const user = newUser();
    const requestId = newRequest();
    await topUp(db, user, 100n, 'seed');
    await reserveHold(db, { userExternalId: user, requestId, amount: 60n });
    const results = await Promise.all(Array.from({ length: 6 }, () => captureHold(db, { requestId, amount: 45n })));
    expect(results.filter((r) => r.applied)).toHaveLength(1);
    expect(await getBalance(db, user)).toEqual({ balance: 55n, held: 0n });
    expect((await ledger(requestId)).filter((e) => e.kind === 'CAPTURE')).toHaveLength(1);
  });

  test('capturing the full hold releases nothing; capturing more than held is refused', async () => {
    const user = newUser();
    const full = newRequest();
    const over = newRequest();
    await topUp(db, user, 100n, 'seed');
    await reserveHold(db, { userExternalId: user, requestId: full, amount: 40n });
    await reserveHold(db, { userExternalId: user, requestId: over, amount: 10n });
    expect(await captureHold(db, { requestId: full, amount: 40n })).toMatchObject({ releasedAmount: 0n });
    await expect(captureHold(db, { requestId: over, amount: 11n })).rejects.toBeInstanceOf(HoldStateError);
    expect(await getHold(db, over)).toMatchObject({ status: 'HELD', amount: 10n });
    expect(await getBalance(db, user)).toEqual({ balance: 50n, held: 10n });
  });

  test('release returns the whole hold once; a released hold cannot be captured', async () => {
    const user = newUser();
    const requestId = newRequest();
    await topUp(db, user, 100n, 'seed');
    await reserveHold(db, { userExternalId: user, requestId, amount: 25n });
    expect(await releaseHold(db, requestId)).toMatchObject({ status: 'RELEASED', releasedAmount: 25n, applied: true });
    expect(await releaseHold(db, requestId)).toMatchObject({ status: 'RELEASED', applied: false });
    expect(await getBalance(db, user)).toEqual({ balance: 100n, held: 0n });
    await expect(captureHold(db, { requestId, amount: 1n })).rejects.toBeInstanceOf(HoldStateError);
    expect((await ledger(requestId)).map((e) => e.kind)).toEqual(['HOLD', 'RELEASE']);
  });

  test('releasing or capturing an unknown request', async () => {
    const requestId = newRequest();
    expect(await releaseHold(db, requestId)).toBeNull();
    await expect(captureHold(db, { requestId, amount: 1n })).rejects.toBeInstanceOf(HoldStateError);
    expect(await getHold(db, requestId)).toBeNull();
  });
});
