import type { PrismaClient } from './client.js';

/** A batch as written before its transaction was sent (see AnchorBatch in prisma/schema.prisma). */
export interface PlannedBatch {
  root: string;
  /** The packed records, 0x hex, in batch order. */
  packed: string;
  /** Request ids in batch order. */
  requestIds: readonly string[];
}

/**
 * Writes a batch and its members in one transaction, before the batch is sent. Throws (a unique violation) when a
 * request already belongs to another batch: that record must go in its own batch again, never in this one.
 */
export async function recordPlannedBatch(db: PrismaClient, batch: PlannedBatch): Promise<void> {
  await db.$transaction([
    db.anchorBatch.create({ data: { root: batch.root, packed: batch.packed, count: batch.requestIds.length } }),
    db.anchorBatchMember.createMany({ data: batch.requestIds.map((requestId, position) => ({ requestId, root: batch.root, position })) }),
  ]);
}

/** The batch a request's record was put in and its place there. */
export interface BatchPlace {
  root: string;
  packed: string;
  position: number;
}

/** What step 12 must know of a request before it anchors: its hold, the record's row and the batch it was put in. */
export interface AnchorState {
  /** The credit hold's status; null when there is none. */
  holdStatus: string | null;
  /** The anchoring transaction and block of a record row written already; null when none is. */
  written: { txHash: string; blockNumber: bigint } | null;
  planned: BatchPlace | null;
}

/** One round trip for step 12's three questions (it used to take three queries on every request); the hold sweeper asks it too. */
export async function anchorStateOf(db: PrismaClient, requestId: string): Promise<AnchorState> {
  const rows = await db.$queryRaw<Array<{ holdStatus: string | null; txHash: string | null; blockNumber: bigint | null; root: string | null; position: number | null; packed: string | null }>>`
    SELECT h."status"::text AS "holdStatus", e."anchorTxHash" AS "txHash", e."blockNumber", m."root", m."position", b."packed"
    FROM (SELECT ${requestId}::text AS "requestId") r
    LEFT JOIN "CreditHold" h ON h."requestId" = r."requestId"
    LEFT JOIN "ExecutionRecord" e ON e."requestId" = r."requestId"
    LEFT JOIN "AnchorBatchMember" m ON m."requestId" = r."requestId"
    LEFT JOIN "AnchorBatch" b ON b."root" = m."root"`;
  const row = rows[0];
  return {
    holdStatus: row?.holdStatus ?? null,
    written: row?.txHash && row.blockNumber !== null ? { txHash: row.txHash, blockNumber: BigInt(row.blockNumber) } : null,
    planned: row?.root && row.packed !== null && row.position !== null ? { root: row.root, packed: row.packed, position: Number(row.position) } : null,
  };
}
