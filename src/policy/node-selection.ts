import { createHash } from 'node:crypto';

/** What match knows of a candidate node. */
export interface NodeCandidate {
  nodeId: string;
  models: string[];
  dtype: string;
  maxNewTokens: number;
  concurrency: number;
  /** Fraction of successful health probes in the window; null when the node has none yet. */
  uptime: number | null;
  reputation: number;
  inFlight: number;
}

export interface SelectionRequest {
  requestId: string;
  model: string;
  /** Only nodes running this weights variant (a sampled check compares like with like); any when absent. */
  dtype?: string;
  maxNewTokens: number;
  exclude: readonly string[];
  minUptime: number;
}

/** Spreads ties deterministically per request, so equal nodes share the load. */
function tieBreak(requestId: string, nodeId: string): string {
  return createHash('sha256').update(`${requestId}\0${nodeId}`).digest('hex');
}

/**
 * Step 03's policy: capable nodes (model, dtype when asked, token limit), not already tried, healthy enough; ordered by free
 * capacity, then uptime, then reputation. A node without health samples yet counts as fully up. Busy nodes stay
 * candidates: a dispatch waits in the node's task queue, bounded by the dispatch schedule-to-start timeout.
 */
export function rankCandidates(request: SelectionRequest, candidates: NodeCandidate[]): NodeCandidate[] {
  return candidates
    .filter((node) => node.models.includes(request.model))
    .filter((node) => request.dtype === undefined || node.dtype === request.dtype)
    .filter((node) => node.maxNewTokens >= request.maxNewTokens)
    .filter((node) => !request.exclude.includes(node.nodeId))
    .filter((node) => (node.uptime ?? 1) >= request.minUptime)
    .sort(
      (a, b) =>
        a.inFlight / a.concurrency - b.inFlight / b.concurrency ||
        (b.uptime ?? 1) - (a.uptime ?? 1) ||
        b.reputation - a.reputation ||
        tieBreak(request.requestId, a.nodeId).localeCompare(tieBreak(request.requestId, b.nodeId)),
    );
}
