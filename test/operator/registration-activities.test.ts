import { ApplicationFailure } from '@temporalio/common';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { approveNode } from '../../src/policy/node-admission.js';
import { createRegistrationActivities, type RegistrationActivities } from '../../activities/register-node.js';
import { createIdentity, signAnnouncement, signHealthProbe, toBase64, type OperatorCapabilities } from '../../src/crypto/index.js';
import { createPrismaClient, type PrismaClient } from '../../src/db/client.js';
import { OPERATOR_WIRE } from '../../src/protocol/operator-wire.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

/* The registration activities called directly (no Temporal context needed) on a real database. */
let database: TestDatabase;
let db: PrismaClient;
let activities: RegistrationActivities;
const coordinatorKey = toBase64(createIdentity().box.publicKey);
const logger = { info: () => undefined, warn: () => undefined };
const capabilities: OperatorCapabilities = {
  models: ['m'],
  dtype: 'fp16',
  device: 'cpu',
  maxContextTokens: 1024,
  maxNewTokens: 128,
  concurrency: 2,
};

beforeAll(async () => {
  database = await createTestDatabase();
  db = createPrismaClient(database.url);
  activities = createRegistrationActivities({ db, logger, coordinatorBoxPublicKey: coordinatorKey, coordinatorSignPublicKey: coordinatorKey, health: { intervalMs: 1234 } });
});

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
});

async function refusalOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ApplicationFailure);
  expect((error as ApplicationFailure).nonRetryable).toBe(true);
  return error as ApplicationFailure;
}

test('registration stores the node once, is idempotent, and ignores an older announcement', async () => {
  const node = createIdentity();
  const first = signAnnouncement(node, capabilities, new Date(Date.now() - 60_000));
  const result = await activities.registerNode({ wire: OPERATOR_WIRE, announcement: first });
  expect(result).toMatchObject({ nodeId: node.nodeId, coordinatorBoxPublicKey: coordinatorKey, coordinatorSignPublicKey: coordinatorKey, applied: true });
  expect(result.health.intervalMs).toBe(1234);
  expect((await activities.registerNode({ wire: OPERATOR_WIRE, announcement: first })).applied).toBe(true);

  const newer = signAnnouncement(node, { ...capabilities, concurrency: 4 });
  await activities.registerNode({ wire: OPERATOR_WIRE, announcement: newer });
  const stale = await activities.registerNode({ wire: OPERATOR_WIRE, announcement: first });
  expect(stale.applied).toBe(false);

  const rows = await db.node.findMany({ where: { nodeId: node.nodeId } });
  expect(rows).toHaveLength(1);
  expect(rows[0]!.capabilities).toMatchObject({ concurrency: 4 });
  expect(rows[0]!.lastAnnouncedAt.toISOString()).toBe(newer.announcedAt);
  expect(rows[0]!.signPublicKey).toBe(toBase64(node.sign.publicKey));
});

test('bad signatures, replays of old announcements and non-wire input are refused as ANNOUNCEMENT_INVALID', async () => {
  const node = createIdentity();
  const signed = signAnnouncement(node, capabilities);
  const bad = [
    { wire: OPERATOR_WIRE, announcement: { ...signed, signature: toBase64(new Uint8Array(64)) } },
    { wire: OPERATOR_WIRE, announcement: signAnnouncement(node, capabilities, new Date(Date.now() - 3_600_000)) },
    { wire: 'other', announcement: signed },
  ];
  for (const input of bad) {
    const failure = await refusalOf(activities.registerNode(input as never));
    expect(failure.type).toBe('ANNOUNCEMENT_INVALID');
  }
  expect(await db.node.count({ where: { nodeId: node.nodeId } })).toBe(0);
});

test('a suspended node cannot re-register itself back to ACTIVE', async () => {
  const node = createIdentity();
  await activities.registerNode({ wire: OPERATOR_WIRE, announcement: signAnnouncement(node, capabilities) });
  await db.node.update({ where: { nodeId: node.nodeId }, data: { status: 'SUSPENDED' } });
  const failure = await refusalOf(
    activities.registerNode({ wire: OPERATOR_WIRE, announcement: signAnnouncement(node, capabilities) }),
  );
  expect(failure.type).toBe('NODE_NOT_ADMITTED');
  expect((await db.node.findUniqueOrThrow({ where: { nodeId: node.nodeId } })).status).toBe('SUSPENDED');
});

test('admission: a new node registers PENDING, stays PENDING when it announces again and under probes; an allowlisted one registers ACTIVE', async () => {
  const pending = createIdentity();
  const registered = await activities.registerNode({ wire: OPERATOR_WIRE, announcement: signAnnouncement(pending, capabilities) });
  expect(registered.status).toBe('PENDING');
  expect((await activities.registerNode({ wire: OPERATOR_WIRE, announcement: signAnnouncement(pending, capabilities) })).status).toBe('PENDING');
  // Probed (its uptime is known at approval), never promoted by a probe.
  expect(await activities.recordHealthSample({ nodeId: pending.nodeId, up: true, latencyMs: 3, at: new Date().toISOString() })).toEqual({ status: 'PENDING', up: true });
  expect(await activities.recordHealthSample({ nodeId: pending.nodeId, up: false, latencyMs: null, at: new Date(Date.now() + 1).toISOString(), markOffline: true })).toEqual({ status: 'PENDING', up: false });
  // Approved, it announces again as ACTIVE.
  expect(await approveNode(db, pending.nodeId)).toEqual({ nodeId: pending.nodeId, from: 'PENDING', to: 'ACTIVE' });
  expect((await activities.registerNode({ wire: OPERATOR_WIRE, announcement: signAnnouncement(pending, capabilities) })).status).toBe('ACTIVE');

  const listed = createIdentity();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'px-allowlist-'));
  const allowlistFile = path.join(dir, 'nodes');
  writeFileSync(allowlistFile, `# the local stack's operators\n${listed.nodeId}\n\n`);
  try {
    const withList = createRegistrationActivities({ db, logger, coordinatorBoxPublicKey: coordinatorKey, coordinatorSignPublicKey: coordinatorKey, allowlistFile });
    expect((await withList.registerNode({ wire: OPERATOR_WIRE, announcement: signAnnouncement(listed, capabilities) })).status).toBe('ACTIVE');
    expect((await withList.registerNode({ wire: OPERATOR_WIRE, announcement: signAnnouncement(createIdentity(), capabilities) })).status).toBe('PENDING');
    // A bad line is a configuration error naming the file and line, not a silent open door.
    writeFileSync(allowlistFile, `${listed.nodeId}\nnot-a-node\n`);
    await expect(withList.registerNode({ wire: OPERATOR_WIRE, announcement: signAnnouncement(createIdentity(), capabilities) })).rejects.toThrow(/line 2: not a node id/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('health samples: recorded once per probe time, OFFLINE after failures, ACTIVE again when up', async () => {
  const node = createIdentity();
  await activities.registerNode({ wire: OPERATOR_WIRE, announcement: signAnnouncement(node, capabilities) });
  await approveNode(db, node.nodeId);
  const t = (s: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, s)).toISOString();
  const { nodeId } = node;
  expect(await activities.recordHealthSample({ nodeId, up: true, latencyMs: 12.4, at: t(0) })).toEqual({ status: 'ACTIVE', up: true });
  expect(await activities.recordHealthSample({ nodeId, up: true, latencyMs: 12.4, at: t(0) })).toEqual({ status: 'ACTIVE', up: true }); // retry
  expect(await activities.recordHealthSample({ nodeId, up: false, latencyMs: null, at: t(10) })).toEqual({ status: 'ACTIVE', up: false });
  expect(await activities.recordHealthSample({ nodeId, up: false, latencyMs: null, at: t(20), markOffline: true })).toEqual({
    status: 'OFFLINE',
    up: false,
  });
  expect(await activities.recordHealthSample({ nodeId, up: true, latencyMs: 9, at: t(30) })).toEqual({ status: 'ACTIVE', up: true });
  const samples = await db.healthSample.findMany({ where: { nodeId }, orderBy: { at: 'asc' } });
  expect(samples.map((s) => [s.up, s.latencyMs])).toEqual([
    [true, 12],
    [false, null],
    [false, null],
    [true, 9],
  ]);
  expect(await activities.recordHealthSample({ nodeId: createIdentity().nodeId, up: true, latencyMs: 1, at: t(0) })).toEqual({
    status: null,
    up: false,
  });
});

test('signed health: an answer counts as up only with the node\'s own signature over this probe\'s challenge', async () => {
  const node = createIdentity();
  const other = createIdentity();
  await activities.registerNode({ wire: OPERATOR_WIRE, announcement: signAnnouncement(node, capabilities) });
  await approveNode(db, node.nodeId);
  const t = (s: number) => new Date(Date.UTC(2031, 0, 1, 0, 0, s)).toISOString();
  const { nodeId } = node;
  const challenge = 'c5a4f3f0-6b43-4c52-9b0c-0d6f2b6a1e01';
  const sample = (at: string, signature: string | null, markOffline = false) =>
    activities.recordHealthSample({ nodeId, up: true, latencyMs: 5, at, markOffline, probe: { challenge, signature } });
  // The node's own signature: up.
  expect(await sample(t(0), signHealthProbe(nodeId, challenge, node.sign.secretKey))).toEqual({ status: 'ACTIVE', up: true });
  // Unsigned, signed by another key, signed over another challenge or another node id: down, whatever `up` claims.
  expect(await sample(t(1), null)).toEqual({ status: 'ACTIVE', up: false });
  expect(await sample(t(2), signHealthProbe(nodeId, challenge, other.sign.secretKey))).toEqual({ status: 'ACTIVE', up: false });
  expect(await sample(t(3), signHealthProbe(nodeId, 'another-challenge', node.sign.secretKey))).toEqual({ status: 'ACTIVE', up: false });
  expect(await sample(t(4), signHealthProbe(other.nodeId, challenge, node.sign.secretKey), true)).toEqual({ status: 'OFFLINE', up: false });
  const samples = await db.healthSample.findMany({ where: { nodeId }, orderBy: { at: 'asc' } });
  expect(samples.map((s) => [s.up, s.latencyMs])).toEqual([[true, 5], [false, null], [false, null], [false, null], [false, null]]);
});
