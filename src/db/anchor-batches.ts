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

/** The batch a request's record was put in, with its place and the other members' request ids; null when none. */
export async function plannedBatchOf(
  db: PrismaClient,
  requestId: string,
): Promise<{ root: string; packed: string; position: number; requestIds: string[] } | null> {
  const member = await db.anchorBatchMember.findUnique({ where: { requestId }, include: { batch: { include: { members: { select: { requestId: true, position: true } } } } } });
  if (!member) return null;
  const requestIds = [...member.batch.members].sort((a, b) => a.position - b.position).map((m) => m.requestId);
  return { root: member.root, packed: member.batch.packed, position: member.position, requestIds };
}
