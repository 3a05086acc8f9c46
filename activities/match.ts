import type { OperatorCapabilities } from '../src/crypto/announcement.js';
import { rankCandidates, type NodeCandidate } from '../src/policy/node-selection.js';
import { policyUptimeCache } from '../src/policy/uptime-cache.js';
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

interface ActiveNode {
  nodeId: string;
  boxPublicKey: string;
  capabilities: unknown;
  reputation: number;
  inFlight: number;
}

/** Step 03: the best capable, healthy, least-loaded node not yet tried for this request. */
export function createMatch({ db, policy, uptimes = policyUptimeCache(db, policy) }: CoordinatorDeps) {
  return async function match(input: MatchInput): Promise<MatchedNode> {
    // The active nodes with their dispatches in flight, one statement (the in-flight count through the status index).
    const nodes = await db.$queryRaw<ActiveNode[]>`
      SELECT n."nodeId", n."boxPublicKey", n."capabilities", n."reputation", COALESCE(l."inFlight", 0)::int AS "inFlight"
      FROM "Node" n
      LEFT JOIN (SELECT "nodeId", count(*) AS "inFlight" FROM "InferenceRequest" WHERE "status" = 'DISPATCHED' GROUP BY "nodeId") l
        ON l."nodeId" = n."nodeId"
      WHERE n."status" = 'ACTIVE'`;
    const uptime = await uptimes.get(nodes.map((n) => n.nodeId));
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
        inFlight: node.inFlight,
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
