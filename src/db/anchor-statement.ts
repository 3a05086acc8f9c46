import { Prisma, type PrismaClient } from './client.js';

export type RecordVerdict = 'UNSAMPLED' | 'AGREED' | 'DISAGREED';

/** Statuses a request has before its record is written; a run past step 12 is never set back. */
export const BEFORE_ANCHORED = ['ADMITTED', 'DISPATCHED', 'SAMPLED'] as const;

/** The database copy of an anchored ExecutionRecord (what step 12 wrote on chain, and where). */
export interface AnchoredRecordRow {
  requestId: string;
  nodeId: string;
  /** 0x-prefixed hex. */
  poe: string;
  verdict: RecordVerdict;
  sampledNodeId: string | null;
  mode: 'NONE' | 'EXACT' | 'TOLERANT';
  nodeDevice: string | null;
  sampledNodeDevice: string | null;
  checkScore: object | null;
  disputeScore: object | null;
  signature: string;
  anchorTxHash: string;
  blockNumber: bigint;
  anchoredAt: Date;
  /** Batched anchoring: the batch's Merkle root and the record's inclusion proof. */
  batch: { root: string; proof: unknown } | null;
}

const timestamp = (at: Date): string => at.toISOString();
const jsonb = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));

/**
 * Step 12's rows in one statement (one round trip, no BEGIN/COMMIT): the record, kept as it is when a retry finds it
 * written, and the request marked ANCHORED unless it is past step 12 already (never set back).
 */
export async function writeAnchoredRecord(db: PrismaClient, row: AnchoredRecordRow): Promise<void> {
  const now = timestamp(new Date());
  await db.$executeRaw`
    WITH record AS (
      INSERT INTO "ExecutionRecord" ("id", "requestId", "nodeId", "poe", "verdict", "sampledNodeId", "mode", "nodeDevice", "sampledNodeDevice",
        "checkScore", "disputeScore", "signature", "anchorTxHash", "blockNumber", "anchoredAt", "batchRoot", "batchProof")
      VALUES (gen_random_uuid(), ${row.requestId}, ${row.nodeId}, ${row.poe}, ${row.verdict}::"Verdict", ${row.sampledNodeId}::text,
        ${row.mode}::"SampleMode", ${row.nodeDevice}::text, ${row.sampledNodeDevice}::text, ${jsonb(row.checkScore)}::jsonb,
        ${jsonb(row.disputeScore)}::jsonb, ${row.signature}, ${row.anchorTxHash}, ${row.blockNumber}::bigint,
        ${timestamp(row.anchoredAt)}::timestamp(3), ${row.batch?.root ?? null}::text, ${jsonb(row.batch?.proof)}::jsonb)
      ON CONFLICT ("requestId") DO NOTHING
    )
    UPDATE "InferenceRequest"
    SET "status" = 'ANCHORED', "step" = 12, "verdict" = ${row.verdict}::"Verdict", "sampledNodeId" = ${row.sampledNodeId}::text, "updatedAt" = ${now}::timestamp(3)
    WHERE "requestId" = ${row.requestId} AND "status"::text IN (${Prisma.join([...BEFORE_ANCHORED])})`;
}
