import type { OperatorCapabilities } from '../src/crypto/announcement.js';
import { rankCandidates, type NodeCandidate } from '../src/policy/node-selection.js';
import { createUptimeCache } from '../src/policy/uptime-cache.js';
import type { CoordinatorDeps } from './deps.js';
import { applicationFailure, FailureType } from '../src/protocol/failures.js';

export interface MatchInput {
  requestId: string;
  model: string;
  /** Step 11 pairs node_j with node_i's weights variant (any device); absent for the primary match. */
  dtype?: string;
  maxNewTokens: number;
  /** Nodes already tried (or already used) for this request. */
  exclude: string[];
}

export interface MatchedNode {
  nodeId: string;
  boxPublicKey: string;
  /** What the node announced: its weights variant and device (recorded with a sampled pair). */
  dtype: string;
  device: 'webgpu' | 'cpu';
}

/** Step 03: the best capable, healthy, least-loaded node not yet tried for this request. */
export function createMatch({ db, policy, uptimes = createUptimeCache(db, policy.uptimeWindowMs, policy.uptimeCacheMs) }: CoordinatorDeps) {
  return async function match(input: MatchInput): Promise<MatchedNode> {
    const nodes = await db.node.findMany({ where: { status: 'ACTIVE' } });
    const ids = nodes.map((n) => n.nodeId);
    const [uptime, load] = await Promise.all([
      uptimes.get(ids),
      db.inferenceRequest.groupBy({
        by: ['nodeId'],
        where: { nodeId: { in: ids }, status: 'DISPATCHED' },
        _count: { _all: true },
      }),
    ]);
    const inFlight = new Map(load.map((row) => [row.nodeId, row._count._all]));
    const candidates: NodeCandidate[] = nodes.map((node) => {
      const caps = node.capabilities as unknown as OperatorCapabilities;
      return {
        nodeId: node.nodeId,
        models: Array.isArray(caps?.models) ? caps.models : [],
        dtype: typeof caps?.dtype === 'string' ? caps.dtype : '',
        maxNewTokens: caps?.maxNewTokens ?? 0,
        concurrency: Math.max(1, caps?.concurrency ?? 1),
        uptime: uptime.get(node.nodeId) ?? null,
        reputation: node.reputation,
        inFlight: inFlight.get(node.nodeId) ?? 0,
      };
    });
    const ranked = rankCandidates({ ...input, minUptime: policy.minUptime }, candidates);
    const chosen = ranked[0];
    if (!chosen) {
      throw applicationFailure(FailureType.NO_CAPABLE_NODE, `no capable node for model ${input.model}${input.dtype ? ` (${input.dtype})` : ''} (excluded: ${input.exclude.length})`, {
        model: input.model,
        excluded: input.exclude,
      });
    }
    const node = nodes.find((n) => n.nodeId === chosen.nodeId)!;
    const caps = node.capabilities as unknown as OperatorCapabilities;
    return { nodeId: node.nodeId, boxPublicKey: node.boxPublicKey, dtype: chosen.dtype, device: caps.device === 'webgpu' ? 'webgpu' : 'cpu' };
  };
}
