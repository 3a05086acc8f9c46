import type { PrismaClient } from '../db/client.js';
import type { CoordinatorPolicy } from './coordinator-policy.js';
import { nodeUptimes } from './uptime.js';

export interface UptimeCache {
  /** Uptime per node over the window (null: no probe yet), read again for nodes whose value is older than the max age. */
  get(nodeIds: string[]): Promise<Map<string, number | null>>;
}

/**
 * Uptimes for matching (step 03) and rewards (step 14), read once per node per `maxAgeMs` instead of once per
 * request: the uptime is a count over an hour of probes, which a few seconds do not move, and its query reads every
 * probe of the window for every node asked about. Nodes read at the same time share one query. `maxAgeMs` 0 reads
 * every time.
 */
export function createUptimeCache(db: PrismaClient, windowMs: number, maxAgeMs: number, now: () => number = Date.now): UptimeCache {
  const known = new Map<string, { uptime: number | null; at: number }>();
  const reading = new Map<string, Promise<void>>();
  return {
    async get(nodeIds) {
      const at = now();
      const stale = [...new Set(nodeIds)].filter((id) => !reading.has(id) && !(at - (known.get(id)?.at ?? -Infinity) < maxAgeMs));
      if (stale.length > 0) {
        const read = nodeUptimes(db, stale, windowMs).then((uptimes) => {
          for (const id of stale) known.set(id, { uptime: uptimes.get(id) ?? null, at });
        });
        const settled = read.finally(() => {
          for (const id of stale) if (reading.get(id) === settled) reading.delete(id);
        });
        for (const id of stale) reading.set(id, settled);
      }
      await Promise.all(nodeIds.map((id) => reading.get(id)));
      return new Map(nodeIds.map((id) => [id, known.get(id)?.uptime ?? null]));
    },
  };
}

/** The cache the coordinator's policy asks for (its window and PARALLELIX_UPTIME_CACHE_SECONDS). */
export function policyUptimeCache(db: PrismaClient, policy: Pick<CoordinatorPolicy, 'uptimeWindowMs' | 'uptimeCacheMs'>): UptimeCache {
  return createUptimeCache(db, policy.uptimeWindowMs, policy.uptimeCacheMs);
}
