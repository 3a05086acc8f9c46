import { InvalidInputError, type ParallelixErrorOptions } from '../shared/errors.js';
import { Prisma, type PrismaClient } from './client.js';
import { HoldStatus, LedgerEntryKind } from '../generated/prisma/enums.js';
import { HoldStateError, IdempotencyConflictError, InsufficientCreditsError, isUniqueViolation, NoHoldError } from './errors.js';

/**
 * Off-chain credits in integer micro-credits. `balance` is spendable, `held` is reserved by open holds.
 * Every movement here runs in one interactive transaction under the user's row lock (SELECT … FOR UPDATE), so
 * concurrent requests serialise per account and can never overdraw it; CHECK constraints back this up. (The first
 * try of admit and settle is one statement under the same lock, src/db/admit-statement.ts and settle-statement.ts;
 * these transactions serve everything else.) Every movement is idempotent: retried calls return the first outcome
 * without applying twice.
 */

export type Tx = Prisma.TransactionClient;

export interface Balance {
  balance: bigint;
  held: bigint;
}

export interface TopUpResult extends Balance {
  /** false when this idempotency key was already applied (nothing changed). */
  applied: boolean;
}

export interface CreditHoldView {
  requestId: string;
  userExternalId: string;
  /** Amount reserved at Admit. */
  amount: bigint;
  status: HoldStatus;
  capturedAmount: bigint;
  releasedAmount: bigint;
}

export interface HoldOutcome extends CreditHoldView {
  /** false when the call was a retry of one already applied (nothing changed). */
  applied: boolean;
}

// Waiting behind other transactions on the same account is expected.
const txOptions = { maxWait: 30_000, timeout: 30_000 };

interface LockedUser {
  id: string;
  balance: bigint;
  held: bigint;
}

function requirePositive(name: string, amount: bigint, allowZero = false): void {
  if (typeof amount !== 'bigint' || amount < 0n || (!allowZero && amount === 0n)) {
    throw new InvalidInputError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} bigint`);
  }
}

async function lockUserByExternalId(tx: Tx, externalId: string): Promise<LockedUser | undefined> {
  const rows = await tx.$queryRaw<LockedUser[]>`
    SELECT "id", "balance", "held" FROM "User" WHERE "externalId" = ${externalId} FOR UPDATE`;
  return rows[0];
}

const holdWithUser = { user: { select: { externalId: true } } } as const;
type HoldRow = Prisma.CreditHoldGetPayload<{ include: typeof holdWithUser }>;

function view(hold: HoldRow, applied: boolean): HoldOutcome {
  return {
    requestId: hold.requestId,
    userExternalId: hold.user.externalId,
    amount: hold.amount,
    status: hold.status,
    capturedAmount: hold.capturedAmount,
    releasedAmount: hold.releasedAmount,
    applied,
  };
}

/** Runs `fn` in a transaction, retrying once if a concurrent insert won a unique key race. */
async function inTx<T>(db: PrismaClient, fn: (tx: Tx) => Promise<T>): Promise<T> {
  try {
    return await db.$transaction(fn, txOptions);
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    return db.$transaction(fn, txOptions);
  }
}

/** Adds credits, creating the account if needed. Applied once per (user, `idempotencyKey`). */
export async function topUp(
  db: PrismaClient,
  userExternalId: string,
  amount: bigint,
  idempotencyKey: string,
): Promise<TopUpResult> {
  requirePositive('amount', amount);
  if (!idempotencyKey) throw new InvalidInputError('idempotencyKey is required');
  const key = `topup:${userExternalId}:${idempotencyKey}`; // keys are scoped to the account
  return inTx(db, async (tx) => {
    await tx.$executeRaw`
      INSERT INTO "User" ("id", "externalId", "updatedAt") VALUES (gen_random_uuid(), ${userExternalId}, now())
      ON CONFLICT ("externalId") DO NOTHING`;
    const user = await lockUserByExternalId(tx, userExternalId);
    if (!user) throw new HoldStateError(`User ${userExternalId} could not be created`);
    const previous = await tx.creditLedgerEntry.findUnique({ where: { idempotencyKey: key } });
    if (previous) {
      if (previous.amount !== amount) {
        throw new IdempotencyConflictError(`Top-up key ${idempotencyKey} was already used for another amount`);
      }
      return { balance: user.balance, held: user.held, applied: false };
    }
    const updated = await tx.user.update({ where: { id: user.id }, data: { balance: { increment: amount } } });
    await tx.creditLedgerEntry.create({
      data: {
        userId: user.id,
        kind: LedgerEntryKind.TOPUP,
        amount,
        idempotencyKey: key,
        balanceAfter: updated.balance,
        heldAfter: updated.held,
      },
    });
    return { balance: updated.balance, held: updated.held, applied: true };
  });
}

function insufficient(userExternalId: string, requested: bigint, available: bigint, options: ParallelixErrorOptions = {}): InsufficientCreditsError {
  return new InsufficientCreditsError(`Insufficient credits for ${userExternalId}: requested ${requested}, available ${available}`, { requested, available }, options);
}

/**
 * Admit (step 02): atomically checks the balance and reserves `amount` for `requestId`.
 * Throws InsufficientCreditsError when the account (or a missing account) cannot cover it.
 * A retry with the same requestId returns the existing hold (applied: false), whatever its status.
 * `workflowId` (the run holding it) lets the hold sweeper find out whether that run is closed.
 */
export async function reserveHold(
  db: PrismaClient,
  input: { userExternalId: string; requestId: string; amount: bigint; workflowId?: string },
  /** Runs in the same transaction once the hold exists (new or found again on a retry): what must commit with it. */
  withHold?: (tx: Tx, hold: { userId: string }) => Promise<void>,
): Promise<HoldOutcome> {
  const { userExternalId, requestId, amount, workflowId } = input;
  requirePositive('amount', amount);
  if (!requestId) throw new InvalidInputError('requestId is required');
  return inTx(db, async (tx) => {
    const user = await lockUserByExternalId(tx, userExternalId);
    const existing = await tx.creditHold.findUnique({ where: { requestId }, include: holdWithUser });
    if (existing) {
      if (existing.user.externalId !== userExternalId || existing.amount !== amount) {
        throw new IdempotencyConflictError(`Request ${requestId} already holds credits for another user or amount`);
      }
      await withHold?.(tx, { userId: existing.userId });
      return view(existing, false);
    }
    if (!user) throw insufficient(userExternalId, amount, 0n, { details: 'no credit account' });
    if (user.balance < amount) throw insufficient(userExternalId, amount, user.balance);
    const updated = await tx.user.update({
      where: { id: user.id },
      data: { balance: { decrement: amount }, held: { increment: amount } },
    });
    // The account is known already: no read-back of the user (the include took two more statements).
    const created = await tx.creditHold.create({ data: { requestId, userId: user.id, amount, ...(workflowId ? { workflowId } : {}) } });
    const hold: HoldRow = { ...created, user: { externalId: userExternalId } };
    await tx.creditLedgerEntry.create({
      data: {
        userId: user.id,
        kind: LedgerEntryKind.HOLD,
        amount,
        requestId,
        idempotencyKey: `hold:${requestId}`,
        balanceAfter: updated.balance,
        heldAfter: updated.held,
      },
    });
    await withHold?.(tx, { userId: user.id });
    return view(hold, true);
  });
}

/**
 * Locks the hold's account (found through the hold, in the same statement), then reads the hold under that lock
 * (all hold changes take it). Two statements: the account row brings the external id the hold's view shows.
 */
async function lockHold(tx: Tx, requestId: string): Promise<{ hold: HoldRow; user: LockedUser } | undefined> {
  const rows = await tx.$queryRaw<Array<LockedUser & { externalId: string }>>`
    SELECT "id", "balance", "held", "externalId" FROM "User"
    WHERE "id" = (SELECT "userId" FROM "CreditHold" WHERE "requestId" = ${requestId}) FOR UPDATE`;
  const locked = rows[0];
  if (!locked) return undefined;
  const { externalId, ...user } = locked;
  const row = await tx.creditHold.findUniqueOrThrow({ where: { requestId } });
  return { hold: { ...row, user: { externalId } }, user };
}

/**
 * Settle (step 14): charges `amount` (the metered cost, at most the held amount) and releases the rest.
 * A repeated call is a no-op returning the settled hold (applied: false). Capturing a released hold throws.
 */
export async function captureHold(
  db: PrismaClient,
  input: {
    requestId: string;
    /** The amount, or how to compute it from the amount held (read under the lock, so no separate read is needed). */
    amount: bigint | ((held: bigint) => bigint);
  },
  /**
   * Runs in the same transaction after the capture, and again on a repeated call (then with applied: false): what
   * must commit with the capture (rewards, the request's settled state). Must be idempotent itself.
   */
  withCapture?: (tx: Tx, outcome: HoldOutcome) => Promise<void>,
  /** Runs first in the same transaction; throwing stops the capture (e.g. the anchor check of step 14). */
  precondition?: (tx: Tx) => Promise<void>,
): Promise<HoldOutcome> {
  const { requestId } = input;
  if (typeof input.amount === 'bigint') requirePositive('amount', input.amount, true);
  return inTx(db, async (tx) => {
    await precondition?.(tx);
    const locked = await lockHold(tx, requestId);
    if (!locked) throw new NoHoldError(`No credit hold for request ${requestId}`);
    const { hold, user } = locked;
    if (hold.status === HoldStatus.CAPTURED) {
      const outcome = view(hold, false);
      await withCapture?.(tx, outcome);
      return outcome;
    }
    const amount = typeof input.amount === 'bigint' ? input.amount : input.amount(hold.amount);
    requirePositive('amount', amount, true);
    if (hold.status === HoldStatus.RELEASED) {
      throw new HoldStateError(`Credit hold for request ${requestId} was already released`);
    }
    if (amount > hold.amount) {
      throw new HoldStateError(`Capture of ${amount} exceeds the ${hold.amount} held for request ${requestId}`);
    }
    const rest = hold.amount - amount;
    const updatedUser = await tx.user.update({
      where: { id: user.id },
      data: { held: { decrement: hold.amount }, balance: { increment: rest } },
    });
    const settled: HoldRow = {
      ...(await tx.creditHold.update({
        where: { requestId },
        data: { status: HoldStatus.CAPTURED, capturedAmount: amount, releasedAmount: rest, settledAt: new Date() },
      })),
      user: hold.user,
    };
    const after = { balanceAfter: updatedUser.balance, heldAfter: updatedUser.held };
    // Both entries in one statement (a repeated capture never gets here: the hold is CAPTURED by then).
    await tx.creditLedgerEntry.createMany({
      data: [
        { userId: user.id, kind: LedgerEntryKind.CAPTURE, amount, requestId, idempotencyKey: `capture:${requestId}`, ...after },
        ...(rest > 0n ? [{ userId: user.id, kind: LedgerEntryKind.RELEASE, amount: rest, requestId, idempotencyKey: `release:${requestId}`, ...after }] : []),
      ],
    });
    const outcome = view(settled, true);
    await withCapture?.(tx, outcome);
    return outcome;
  });
}

/**
 * Compensation: returns the whole hold to the balance. Idempotent: a settled (captured or released) hold is
 * returned unchanged with applied: false, and an unknown requestId (admission never held) returns null.
 */
export async function releaseHold(db: PrismaClient, requestId: string): Promise<HoldOutcome | null> {
  return inTx(db, async (tx) => {
    const locked = await lockHold(tx, requestId);
    if (!locked) return null;
    const { hold, user } = locked;
    if (hold.status !== HoldStatus.HELD) return view(hold, false);
    const updatedUser = await tx.user.update({
      where: { id: user.id },
      data: { held: { decrement: hold.amount }, balance: { increment: hold.amount } },
    });
    const released: HoldRow = {
      ...(await tx.creditHold.update({ where: { requestId }, data: { status: HoldStatus.RELEASED, releasedAmount: hold.amount, settledAt: new Date() } })),
      user: hold.user,
    };
    await tx.creditLedgerEntry.create({
      data: {
        userId: user.id,
        kind: LedgerEntryKind.RELEASE,
        amount: hold.amount,
        requestId,
        idempotencyKey: `release:${requestId}`,
        balanceAfter: updatedUser.balance,
        heldAfter: updatedUser.held,
      },
    });
    return view(released, true);
  });
}

/** Spendable and held credits of an account (zeros for an unknown user). */
export async function getBalance(db: PrismaClient, userExternalId: string): Promise<Balance> {
  const user = await db.user.findUnique({ where: { externalId: userExternalId }, select: { balance: true, held: true } });
  return { balance: user?.balance ?? 0n, held: user?.held ?? 0n };
}

/** The hold for a request, or null. */
export async function getHold(db: PrismaClient, requestId: string): Promise<CreditHoldView | null> {
  const hold = await db.creditHold.findUnique({ where: { requestId }, include: holdWithUser });
  if (!hold) return null;
  const { applied: _applied, ...rest } = view(hold, false);
  return rest;
}
