import type { PrismaClient } from './client.js';

/**
 * A node's Ed25519 signing key by node id, read once per coordinator process. The binding never changes: the node id
 * is derived from the key (src/crypto/identity.ts nodeIdFromSignPublicKey) and registration refuses any other key,
 * so a cached key can never be stale. Saves one database round trip at 10 Verify, 11 (tolerant judge) and 12 Anchor.
 */
const caches = new WeakMap<PrismaClient, Map<string, string>>();

/** `maxCached` (policy.nodeKeyCacheSize): 0 reads the database every time. */
export async function nodeSignKey(db: PrismaClient, nodeId: string, maxCached: number): Promise<string> {
  let cache = caches.get(db);
  if (!cache) caches.set(db, (cache = new Map()));
  const known = cache.get(nodeId);
  if (known !== undefined) return known;
  const { signPublicKey } = await db.node.findUniqueOrThrow({ where: { nodeId }, select: { signPublicKey: true } });
  if (maxCached === 0) return signPublicKey;
  if (cache.size >= maxCached) cache.delete(cache.keys().next().value!);
  cache.set(nodeId, signPublicKey);
  return signPublicKey;
}
