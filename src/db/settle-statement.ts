import { Prisma, type PrismaClient } from './client.js';
import type { TokenUsage } from '../protocol/inference.js';

export interface SettleReward {
  nodeId: string;
  kind: 'EXECUTION' | 'VERIFICATION';
  weight: bigint;
  uptimeFactor: number;
}

export interface SettleWrite {
  requestId: string;
  /** What to capture; the rest of the hold goes back to the balance. Applies only to a hold of at least this much. */
  charge: bigint;
  rewards: SettleReward[];
  usage: TokenUsage;
  /** Step 13's completion time rides on this write. */
  returned: boolean;
}

/**
 * Step 14's first try as one statement (one round trip, no BEGIN/COMMIT, no read before it): with the request's record
 * anchored and its hold HELD for at least `charge`, locks the account, captures `charge`, returns the rest to the
 * balance, writes the ledger entries and the rewards and marks the request settled, all or nothing. The account's
 * row lock comes first (it is taken while the hold's row is still being found, before the hold's UPDATE locks that
 * row), as every credit movement takes them.
 *
 * Returns what went back to the balance, or null when it changed nothing (no anchored record, no request row, no
 * hold, a hold no longer HELD, or one below the charge): the caller then runs the transaction that tells these apart
 * (activities/settle.ts).
 */
export async function settleInOneStatement(db: PrismaClient, write: SettleWrite): Promise<{ released: bigint } | null> {
  const { requestId, charge } = write;
  if (charge < 0n) throw new RangeError(`charge ${charge} is negative`);
  const now = new Date().toISOString();
  const rewards = write.rewards.map((r) => Prisma.sql`(${r.nodeId}, ${r.kind}::"RewardKind", ${r.weight}::bigint, ${r.uptimeFactor}::float8)`);
  const rewardRows = rewards.length > 0
    ? Prisma.sql`, rewards AS (
        INSERT INTO "RewardLedgerEntry" ("requestId", "nodeId", "kind", "weight", "uptimeFactor")
        SELECT ${requestId}, r."nodeId", r."kind", r."weight", r."uptimeFactor"
        FROM hold, (VALUES ${Prisma.join(rewards)}) AS r ("nodeId", "kind", "weight", "uptimeFactor")
        ON CONFLICT ("requestId", "nodeId") DO NOTHING
      )`
    : Prisma.empty;
  const applied = await db.$queryRaw<Array<{ released: bigint }>>`
    WITH account AS (
      SELECT "id" FROM "User" WHERE "id" = (SELECT "userId" FROM "CreditHold" WHERE "requestId" = ${requestId}) FOR UPDATE
    ), hold AS (
      UPDATE "CreditHold"
      SET "status" = 'CAPTURED', "capturedAmount" = ${charge}::bigint, "releasedAmount" = "amount" - ${charge}::bigint, "settledAt" = ${now}::timestamp(3)
      WHERE "requestId" = ${requestId} AND "status" = 'HELD' AND "amount" >= ${charge}::bigint
        AND "userId" IN (SELECT "id" FROM account)
        AND EXISTS (SELECT 1 FROM "ExecutionRecord" WHERE "requestId" = ${requestId} AND "anchorTxHash" IS NOT NULL)
        AND EXISTS (SELECT 1 FROM "InferenceRequest" WHERE "requestId" = ${requestId})
      RETURNING "userId", "amount", "capturedAmount", "releasedAmount"
    ), account_after AS (
      UPDATE "User" u SET "held" = u."held" - hold."amount", "balance" = u."balance" + hold."releasedAmount", "updatedAt" = ${now}::timestamp(3)
      FROM hold WHERE u."id" = hold."userId"
      RETURNING u."id", u."balance", u."held"
    ), ledger AS (
      INSERT INTO "CreditLedgerEntry" ("userId", "kind", "amount", "requestId", "idempotencyKey", "balanceAfter", "heldAfter")
      SELECT a."id", e."kind", e."amount", ${requestId}, e."key", a."balance", a."held"
      FROM account_after a, hold h,
        LATERAL (VALUES ('CAPTURE'::"LedgerEntryKind", h."capturedAmount", ${`capture:${requestId}`}),
                        ('RELEASE'::"LedgerEntryKind", h."releasedAmount", ${`release:${requestId}`})) AS e ("kind", "amount", "key")
      WHERE e."kind" = 'CAPTURE' OR e."amount" > 0
    )${rewardRows}, request AS (
      UPDATE "InferenceRequest"
      SET "status" = 'SETTLED', "step" = 14, "actualCost" = ${charge}::bigint, "tokensIn" = ${write.usage.inputTokens}::int,
          "tokensOut" = ${write.usage.outputTokens}::int, "settledAt" = ${now}::timestamp(3), "updatedAt" = ${now}::timestamp(3),
          "completedAt" = CASE WHEN ${write.returned}::boolean THEN ${now}::timestamp(3) ELSE "completedAt" END
      FROM hold WHERE "InferenceRequest"."requestId" = ${requestId}
    )
    SELECT "releasedAmount" AS "released" FROM hold`;
  const row = applied[0];
  return row ? { released: BigInt(row.released) } : null;
}
