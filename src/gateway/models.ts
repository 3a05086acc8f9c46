import { createHash } from 'node:crypto';
import type { PrismaClient } from '../db/client.js';

/** What one live node announced it runs (its capabilities row, checked when it registered). */
export interface ServingNode {
  nodeId: string;
  dtype: string;
  engine: string | null;
  maxContextTokens: number;
  maxNewTokens: number;
}

/** A model as the live nodes offer it: the largest limits any of them accepts. */
export interface OfferedModel {
  id: string;
  /** When the first live node offering it registered. */
  createdAt: Date;
  /** Largest context window (prompt + output tokens) among the nodes serving it. */
  contextLength: number;
  /** Largest `max_tokens` any node serving it accepts. */
  maxOutputTokens: number;
  nodes: ServingNode[];
}

/** OpenAI's model object, with the limits clients need to size requests. */
export interface OpenAiModel {
  id: string;
  object: 'model';
  /** Unix seconds: when the first active node offering it registered. */
  created: number;
  owned_by: string;
  context_length: number;
  max_output_tokens: number;
}

const positive = (value: unknown): number => (typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : 0);

/** Models offered by the nodes that matching would consider now (status ACTIVE), sorted by id. */
export async function listOfferedModels(db: PrismaClient): Promise<OfferedModel[]> {
  const rows = await db.node.findMany({ where: { status: 'ACTIVE' }, select: { nodeId: true, capabilities: true, registeredAt: true } });
  const offered = new Map<string, OfferedModel>();
  for (const row of rows) {
    const caps = (row.capabilities ?? {}) as Record<string, unknown>;
    const models = Array.isArray(caps.models) ? caps.models.filter((m): m is string => typeof m === 'string') : [];
    const node: ServingNode = {
      nodeId: row.nodeId,
      dtype: typeof caps.dtype === 'string' ? caps.dtype : 'unknown',
      engine: typeof caps.engine === 'string' ? caps.engine : null,
      maxContextTokens: positive(caps.maxContextTokens),
      maxNewTokens: positive(caps.maxNewTokens),
    };
    for (const id of models) {
      const model = offered.get(id) ?? { id, createdAt: row.registeredAt, contextLength: 0, maxOutputTokens: 0, nodes: [] };
      if (row.registeredAt < model.createdAt) model.createdAt = row.registeredAt;
      model.contextLength = Math.max(model.contextLength, node.maxContextTokens);
      model.maxOutputTokens = Math.max(model.maxOutputTokens, node.maxNewTokens);
      model.nodes.push(node);
      offered.set(id, model);
    }
  }
  return [...offered.values()].sort((a, b) => a.id.localeCompare(b.id));
}

export async function findOfferedModel(db: PrismaClient, id: string): Promise<OfferedModel | undefined> {
  return (await listOfferedModels(db)).find((model) => model.id === id);
}

export function toOpenAiModel(model: OfferedModel): OpenAiModel {
  return {
    id: model.id,
    object: 'model',
    created: Math.floor(model.createdAt.getTime() / 1000),
    owned_by: 'parallelix',
    context_length: model.contextLength,
    max_output_tokens: model.maxOutputTokens,
  };
}

/**
 * OpenAI's `system_fingerprint` for what produced an answer: model, weights variant (dtype) and inference engine
 * version of the node that ran it; it changes when any of them changes (as OpenAI's does with its backend).
 */
export function systemFingerprint(model: string, node: Pick<ServingNode, 'dtype' | 'engine'> | undefined): string {
  const basis = `${model}\0${node?.dtype ?? 'unknown'}\0${node?.engine ?? 'unknown'}`;
  return `fp_${createHash('sha256').update(basis).digest('hex').slice(0, 10)}`;
}
