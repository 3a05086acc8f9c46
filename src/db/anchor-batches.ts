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

/** The batch a request's record was put in and its place there; null when none. */
export async function plannedBatchOf(db: PrismaClient, requestId: string): Promise<{ root: string; packed: string; position: number } | null> {
  const member = await db.anchorBatchMember.findUnique({ where: { requestId }, select: { root: true, position: true, batch: { select: { packed: true } } } });
  return member ? { root: member.root, packed: member.batch.packed, position: member.position } : null;
}
