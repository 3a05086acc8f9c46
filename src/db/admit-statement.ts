import type { PrismaClient } from './client.js';
import { isUniqueViolation } from './errors.js';

export interface AdmitRow {
  userExternalId: string;
  requestId: string;
  workflowId: string;
  /** The run that admits it (absent outside a workflow). */
  runId?: string;
  model: string;
  /** The maximum cost to hold. */
  amount: bigint;
}

/**
 * Step 02's first try as one statement (one round trip, no BEGIN/COMMIT): takes `amount` from the balance into
 * `held`, writes the hold, its ledger entry and the request row, all or nothing. The account's UPDATE takes its row
 * lock before the hold is written (the order every credit movement takes) and re-checks the balance on the row it
 * locked, so concurrent admits never overdraw.
 *
 * Returns false when it changed nothing: no account, too little balance, a hold for this request already there, or a
 * unique key taken (this request's hold by a concurrent try, this workflow id by another request). The caller then
 * runs the transaction that tells these apart (src/db/credits.ts reserveHold).
 */
export async function admitInOneStatement(db: PrismaClient, row: AdmitRow): Promise<boolean> {
  const { userExternalId, requestId, workflowId, model, amount } = row;
  const now = new Date().toISOString();
  try {
    const applied = await db.$queryRaw<Array<{ id: string }>>`
      WITH account AS (
        UPDATE "User" SET "balance" = "balance" - ${amount}::bigint, "held" = "held" + ${amount}::bigint, "updatedAt" = ${now}::timestamp(3)
        WHERE "externalId" = ${userExternalId} AND "balance" >= ${amount}::bigint
          AND NOT EXISTS (SELECT 1 FROM "CreditHold" WHERE "requestId" = ${requestId})
        RETURNING "id", "balance", "held"
      ), hold AS (
        INSERT INTO "CreditHold" ("id", "requestId", "workflowId", "userId", "amount")
        SELECT gen_random_uuid(), ${requestId}, ${workflowId}, "id", ${amount}::bigint FROM account
      ), ledger AS (
        INSERT INTO "CreditLedgerEntry" ("userId", "kind", "amount", "requestId", "idempotencyKey", "balanceAfter", "heldAfter")
        SELECT "id", 'HOLD'::"LedgerEntryKind", ${amount}::bigint, ${requestId}, ${`hold:${requestId}`}, "balance", "held" FROM account
      ), request AS (
        INSERT INTO "InferenceRequest" ("id", "requestId", "workflowId", "runId", "userId", "model", "maxCost", "status", "step", "updatedAt")
        SELECT gen_random_uuid(), ${requestId}, ${workflowId}, ${row.runId ?? null}::text, "id", ${model}, ${amount}::bigint, 'ADMITTED'::"RequestStatus", 2, ${now}::timestamp(3) FROM account
      )
      SELECT "id" FROM account`;
    return applied.length === 1;
  } catch (error) {
    if (isUniqueViolation(error)) return false;
    throw error;
  }
}
