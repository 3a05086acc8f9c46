import type { PrismaClient } from '../db/client.js';

export interface OpenAiModel {
  id: string;
  object: 'model';
  /** Unix seconds: when the first active node offering it registered. */
  created: number;
  owned_by: string;
}

/** Models offered by the nodes that matching would consider now (status ACTIVE), in OpenAI's model shape. */
export async function listOfferedModels(db: PrismaClient): Promise<OpenAiModel[]> {
  const nodes = await db.node.findMany({ where: { status: 'ACTIVE' }, select: { capabilities: true, registeredAt: true } });
  const firstSeen = new Map<string, Date>();
  for (const node of nodes) {
    const caps = node.capabilities as { models?: unknown } | null;
    const models = Array.isArray(caps?.models) ? caps.models.filter((m): m is string => typeof m === 'string') : [];
    for (const model of models) {
      const seen = firstSeen.get(model);
      if (!seen || node.registeredAt < seen) firstSeen.set(model, node.registeredAt);
    }
  }
  return [...firstSeen.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([id, at]) => ({ id, object: 'model', created: Math.floor(at.getTime() / 1000), owned_by: 'parallelix' }));
}
