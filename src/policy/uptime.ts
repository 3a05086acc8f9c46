import type { PrismaClient } from '../db/client.js';

/** Uptime per node over the window: the fraction of health probes that found the node polling (null: none yet). */
export async function nodeUptimes(db: PrismaClient, nodeIds: string[], windowMs: number, now = new Date()): Promise<Map<string, number | null>> {
  const since = new Date(now.getTime() - windowMs);
  const groups = await db.healthSample.groupBy({
    by: ['nodeId', 'up'],
    where: { nodeId: { in: nodeIds }, at: { gte: since } },
    _count: { _all: true },
  });
  const counts = new Map<string, { up: number; total: number }>();
  for (const group of groups) {
    const entry = counts.get(group.nodeId) ?? { up: 0, total: 0 };
    entry.total += group._count._all;
    if (group.up) entry.up += group._count._all;
    counts.set(group.nodeId, entry);
  }
  return new Map(nodeIds.map((id) => {
    const entry = counts.get(id);
    return [id, entry && entry.total > 0 ? entry.up / entry.total : null];
  }));
}
