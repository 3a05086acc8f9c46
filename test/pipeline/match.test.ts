/**
 * Step 03 on a real database: the active nodes and their dispatches in flight come from one statement; the match
 * takes the least loaded capable node, never an inactive, excluded, incapable or unhealthy one.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { createMatch } from '../../activities/match.js';
import type { OperatorCapabilities } from '../../src/crypto/announcement.js';
import { loadCoordinatorPolicy } from '../../src/policy/coordinator-policy.js';
import { createUptimeCache } from '../../src/policy/uptime-cache.js';
import { useTestDatabase } from '../helpers/database.js';

const testDb = useTestDatabase();
const policy = loadCoordinatorPolicy({});

const caps = (over: Partial<OperatorCapabilities> = {}): OperatorCapabilities => ({
  models: ['m'], dtype: 'fp16', device: 'cpu', maxContextTokens: 2048, maxNewTokens: 64, concurrency: 2, ...over,
});

async function node(nodeId: string, capabilities: OperatorCapabilities, status: 'ACTIVE' | 'OFFLINE' = 'ACTIVE', inFlight = 0): Promise<void> {
  const { db } = testDb;
  await db.node.create({ data: { nodeId, signPublicKey: `sign-${nodeId}`, boxPublicKey: `box-${nodeId}`, capabilities: { ...capabilities }, status, lastAnnouncedAt: new Date() } });
  const user = await db.user.upsert({ where: { externalId: 'match-user' }, create: { externalId: 'match-user' }, update: {} });
  for (let i = 0; i < inFlight; i += 1) {
    const requestId = randomUUID();
    await db.inferenceRequest.create({ data: { requestId, workflowId: `w-${requestId}`, userId: user.id, model: 'm', maxCost: 1n, status: 'DISPATCHED', nodeId } });
  }
  // Requests that are no longer in flight do not count.
  const done = randomUUID();
  await db.inferenceRequest.create({ data: { requestId: done, workflowId: `w-${done}`, userId: user.id, model: 'm', maxCost: 1n, status: 'SETTLED', nodeId } });
}

test('the least loaded capable node; inactive, excluded, incapable and unhealthy nodes are never matched', async () => {
  const { db } = testDb;
  const tag = randomUUID().slice(0, 8);
  const id = (name: string) => `${name}-${tag}`;
  await node(id('busy'), caps(), 'ACTIVE', 2);
  await node(id('half'), caps(), 'ACTIVE', 1);
  await node(id('wide'), caps({ concurrency: 8 }), 'ACTIVE', 3);
  await node(id('offline'), caps(), 'OFFLINE');
  await node(id('other-model'), caps({ models: ['n'] }));
  await node(id('short'), caps({ maxNewTokens: 8 }));
  await node(id('down'), caps());
  await db.healthSample.createMany({ data: [false, false, true].map((up, i) => ({ nodeId: id('down'), up, at: new Date(Date.now() - 1000 * (i + 1)) })) });
  // Only this test's nodes: the others of the database are excluded by name below.
  const others = (await db.node.findMany({ select: { nodeId: true } })).map((n) => n.nodeId).filter((n) => !n.endsWith(tag));
  const match = createMatch({ db, policy, uptimes: createUptimeCache(db, policy.uptimeWindowMs, 0) } as never);
  const request = { requestId: randomUUID(), model: 'm', maxNewTokens: 32, exclude: others };

  // wide: 3 of 8 slots busy (0.375) beats half (1 of 2) and busy (2 of 2).
  expect(await match(request)).toEqual({ nodeId: id('wide'), boxPublicKey: `box-${id('wide')}`, dtype: 'fp16', device: 'cpu' });
  expect((await match({ ...request, exclude: [...others, id('wide')] })).nodeId).toBe(id('half'));
  expect((await match({ ...request, exclude: [...others, id('wide'), id('half')] })).nodeId).toBe(id('busy'));
  const none = await match({ ...request, exclude: [...others, id('wide'), id('half'), id('busy')] }).catch((error: unknown) => error);
  expect(none).toBeInstanceOf(ApplicationFailure);
  expect(none).toMatchObject({ type: 'NO_CAPABLE_NODE' });
});
