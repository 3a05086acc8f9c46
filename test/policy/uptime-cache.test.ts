/**
 * The uptime cache of matching and settling, on a real database: a node's uptime is read once per max age, nodes
 * read at the same time share one query, and a stale value is read again.
 */
import { randomUUID } from 'node:crypto';
import { createUptimeCache } from '../../src/policy/uptime-cache.js';
import { useTestDatabase } from '../helpers/database.js';

const testDb = useTestDatabase();

async function nodeWithProbes(ups: boolean[]): Promise<string> {
  const { db } = testDb;
  const nodeId = `node-${randomUUID()}`;
  await db.node.create({ data: { nodeId, signPublicKey: `sign-${nodeId}`, boxPublicKey: `box-${nodeId}`, capabilities: {}, lastAnnouncedAt: new Date() } });
  await db.healthSample.createMany({ data: ups.map((up, i) => ({ nodeId, up, at: new Date(Date.now() - 1000 * (i + 1)) })) });
  return nodeId;
}

test('read once per max age, shared by concurrent callers, read again when stale', async () => {
  const { db } = testDb;
  const [a, b] = [await nodeWithProbes([true, true, false, true]), await nodeWithProbes([false, true])];
  let queries = 0;
  // The real client, counting the uptime queries it is asked for.
  const counted = new Proxy(db, {
    get(target, prop, receiver) {
      if (prop !== 'healthSample') return Reflect.get(target, prop, receiver);
      return { groupBy: (args: never) => ((queries += 1), target.healthSample.groupBy(args)) };
    },
  });
  let clock = 1_000_000;
  const cache = createUptimeCache(counted, 3_600_000, 5_000, () => clock);

  const [first, second] = await Promise.all([cache.get([a, b]), cache.get([b])]);
  expect(queries).toBe(1);
  expect(first).toEqual(new Map([[a, 0.75], [b, 0.5]]));
  expect(second).toEqual(new Map([[b, 0.5]]));

  // A probe lands: within the max age the cached value stands; past it, the node is read again.
  await db.healthSample.create({ data: { nodeId: b, up: true } });
  clock += 4_999;
  expect((await cache.get([b])).get(b)).toBe(0.5);
  expect(queries).toBe(1);
  clock += 1;
  expect((await cache.get([a, b])).get(b)).toBeCloseTo(2 / 3);
  expect(queries).toBe(2);

  // A node never probed reads as null (and is not asked about again within the max age).
  const unprobed = await nodeWithProbes([]);
  expect((await cache.get([unprobed])).get(unprobed)).toBeNull();
  await cache.get([unprobed]);
  expect(queries).toBe(3);
});
