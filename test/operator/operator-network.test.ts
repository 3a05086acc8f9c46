import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client, WorkflowFailedError } from '@temporalio/client';
import { EncryptionCodec } from '../../src/codec/encryption-codec.js';
import { coordinatorDataConverter } from '../../src/codec/data-converter.js';
import { ActivityFailure, ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createRegistrationActivities } from '../../activities/register-node.js';
import { nodeUptimes } from '../../src/policy/uptime.js';
import {
  createIdentity,
  dispatchFields,
  openJsonEnvelope,
  signDispatch,
  poeMatches,
  sealEnvelope,
  signAnnouncement,
  toBase64,
  verifyPoeSignature,
  type NodeIdentity,
} from '../../src/crypto/index.js';
import { createPrismaClient, type PrismaClient } from '../../src/db/client.js';
import {
  OPERATOR_WIRE,
  type DispatchInput,
  type DispatchResult,
  type InferencePayload,
  type RegistrationInput,
  type RegistrationResult,
} from '../../src/protocol/operator-wire.js';
import { COORDINATOR_TASK_QUEUE, nodeTaskQueue } from '../../src/protocol/task-queues.js';
import { createLogger } from '../../src/shared/logger.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startTestOperatorEndpoint } from '../helpers/operator-endpoint.js';
import type { OperatorEndpoint } from '../../src/operator-endpoint/server.js';
import { startTestTemporal, type TestTemporal } from '../helpers/temporal.js';
import { spawnOperator, type OperatorProcess } from './operator-process.js';
import { approveNode } from '../../src/policy/node-admission.js';
import { waitFor } from '../helpers/observe.js';
import { FRANCE_32_TEXT, FRANCE_MESSAGES } from '../fixtures/reference-prompt.js';

/*
 * Real operator processes (`parallelix operator`, tiny random Llama on CPU) against a private Temporal dev
 * server, with the coordinator's registration/health workflows and activities on a fresh database.
 */
const MODEL = 'tiny-random-LlamaForCausalLM-fp16';
const FIXTURE_QUEUE = 'operator-test-dispatch';
const france = FRANCE_MESSAGES;
// The engine's reference output for this prompt (test/inference/engine.test.ts, transformers.js' own pipeline).
const FRANCE_32 = FRANCE_32_TEXT;

let temporal: TestTemporal;
let database: TestDatabase;
let db: PrismaClient;
let workerConnection: NativeConnection;
let endpoint: OperatorEndpoint;
let workers: Worker[] = [];
let workersRunning: Promise<unknown>;
let stateRoot: string;
const coordinator: NodeIdentity = createIdentity();
/**
 * What the stand-in coordinator's dispatch fixture runs with: its own codec, and its box key, which opens what
 * operators seal to the coordinator they pinned (their failures and heartbeat details).
 */
const fixtureKey = { id: 'operator-test', key: randomBytes(32) };
const fixtureCodec = new EncryptionCodec(fixtureKey, [], coordinator.box);
const fixtureDataConverter = coordinatorDataConverter(fixtureKey, coordinator.box);
let fixtureClient: Client;
const operators = new Map<string, OperatorProcess>();
const nodeIds = new Map<string, string>();

function operatorEnv(name: string): Record<string, string> {
  return {
    PARALLELIX_OPERATOR_ENDPOINT: endpoint.address,
    PARALLELIX_OPERATOR_NAME: name,
    PARALLELIX_STATE_DIR: stateRoot,
    PARALLELIX_MODEL: MODEL,
    PARALLELIX_MAX_CONTEXT_TOKENS: '2048',
    PARALLELIX_MAX_NEW_TOKENS: '2040',
    PARALLELIX_OPERATOR_SHUTDOWN_GRACE_MS: '2000',
  };
}

async function startOperator(name: string): Promise<string> {
  const proc = spawnOperator(operatorEnv(name));
  operators.set(name, proc);
  const { nodeId } = await proc.ready;
  nodeIds.set(name, nodeId);
  await approveNode(db, nodeId); // admitted as the local stack admits its own operators
  return nodeId;
}

function node(name: string): string {
  const id = nodeIds.get(name);
  if (!id) throw new Error(`operator ${name} not started`);
  return id;
}

async function nodeRow(name: string) {
  return db.node.findUniqueOrThrow({ where: { nodeId: node(name) } });
}

async function dispatchInput(
  to: string,
  overrides: Partial<DispatchInput> & { sealTo?: string; messages?: InferencePayload['messages'] } = {},
): Promise<DispatchInput> {
  const requestId = overrides.requestId ?? `req-${randomUUID()}`;
  const sealTo = (await db.node.findUniqueOrThrow({ where: { nodeId: overrides.sealTo ?? to } })).boxPublicKey;
  const { sealTo: _s, messages, ...rest } = overrides;
  const fields: DispatchInput = {
    wire: OPERATOR_WIRE,
    requestId,
    nodeId: to,
    model: MODEL,
    maxNewTokens: 32,
    envelope: sealEnvelope({ messages: messages ?? france }, sealTo, { requestId }),
    replyToBoxPublicKey: toBase64(coordinator.box.publicKey),
    ...rest,
  };
  return signed(fields);
}

/** Signed by the stand-in coordinator, whose keys the operators pinned at registration (or by `key`). */
function signed(input: DispatchInput, key = coordinator.sign.secretKey): DispatchInput {
  const fields = dispatchFields(input);
  return { ...fields, coordinatorSignature: signDispatch('executeInference', fields, key) };
}

function startDispatch(taskQueue: string, dispatch: DispatchInput, heartbeatTimeoutMs = 10_000) {
  return fixtureClient.workflow.start('dispatchFixtureWorkflow', {
    taskQueue: FIXTURE_QUEUE,
    workflowId: `dispatch-${dispatch.requestId}-${randomUUID()}`,
    args: [{ taskQueue, dispatch, heartbeatTimeoutMs }],
  });
}

async function dispatch(dispatchInput: DispatchInput, taskQueue = nodeTaskQueue(dispatchInput.nodeId)): Promise<DispatchResult> {
  return (await startDispatch(taskQueue, dispatchInput)).result() as Promise<DispatchResult>;
}

/** The typed refusal inside a failed dispatch/registration workflow. */
async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  let cause = (error as WorkflowFailedError).cause;
  if (cause instanceof ActivityFailure) cause = cause.cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

beforeAll(async () => {
  stateRoot = mkdtempSync(path.join(os.tmpdir(), 'px-operators-'));
  [temporal, database] = await Promise.all([startTestTemporal(), createTestDatabase()]);
  db = createPrismaClient(database.url);
  endpoint = await startTestOperatorEndpoint(temporal.server);
  workerConnection = await NativeConnection.connect({ address: temporal.server.address });
  fixtureClient = new Client({ connection: temporal.connection, namespace: temporal.server.namespace, dataConverter: fixtureDataConverter });
  const common = { connection: workerConnection, namespace: temporal.server.namespace };
  workers = [
    await Worker.create({
      ...common,
      taskQueue: COORDINATOR_TASK_QUEUE,
      workflowsPath: fileURLToPath(new URL('../../workflows/index.ts', import.meta.url)),
      activities: createRegistrationActivities({
        db,
        logger: createLogger('coordinator-test'),
        coordinatorBoxPublicKey: toBase64(coordinator.box.publicKey),
        coordinatorSignPublicKey: toBase64(coordinator.sign.publicKey),
        health: { intervalMs: 300, probeScheduleToStartMs: 1_000, probeStartToCloseMs: 2_000, offlineAfterFailures: 2 },
      }),
    }),
    await Worker.create({
      ...common,
      dataConverter: fixtureDataConverter,
      taskQueue: FIXTURE_QUEUE,
      workflowsPath: fileURLToPath(new URL('../fixtures/workflows/dispatch-workflow.ts', import.meta.url)),
    }),
  ];
  workersRunning = Promise.all(workers.map((w) => w.run()));
  await Promise.all(['alpha', 'beta', 'gamma'].map(startOperator));
}, 180_000);

afterAll(async () => {
  await Promise.all([...operators.values()].map((p) => p.stop('SIGKILL')));
  for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  await workersRunning?.catch(() => undefined);
  await workerConnection?.close();
  await endpoint?.close();
  await db?.$disconnect();
  await Promise.all([temporal?.stop(), database?.drop()]);
  if (stateRoot) rmSync(stateRoot, { recursive: true, force: true });
}, 60_000);

test('three operators register: one ACTIVE row each with their keys and capabilities, and a health monitor', async () => {
  expect(new Set(nodeIds.values()).size).toBe(3);
  const rows = await db.node.findMany({ orderBy: { nodeId: 'asc' } });
  expect(rows.map((r) => r.nodeId)).toEqual([...nodeIds.values()].sort());
  for (const row of rows) {
    expect(row.status).toBe('ACTIVE');
    expect(row.signPublicKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(row.boxPublicKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(row.capabilities).toEqual({
      models: [MODEL],
      dtype: 'fp16',
      engine: expect.stringMatching(/^transformers\.js \d+\.\d+\.\d+/),
      device: 'cpu',
      maxContextTokens: 2048,
      maxNewTokens: 2040,
      concurrency: 1,
    });
    const health = await temporal.client.workflow.getHandle(`node-health-${row.nodeId}`).describe();
    expect(health.status.name).toBe('RUNNING');
  }
  // Probes reach every node and are recorded as up.
  await waitFor('an up sample per node', async () => {
    const ups = await db.healthSample.groupBy({ by: ['nodeId'], where: { up: true }, _count: { _all: true } });
    return ups.length === 3 ? ups : undefined;
  });
});

test('the same request on two operator processes gives the same text and a valid signed PoE from each', async () => {
  const requestId = `req-${randomUUID()}`;
  const [a, b] = await Promise.all([
    dispatch(await dispatchInput(node('alpha'), { requestId })),
    dispatch(await dispatchInput(node('beta'), { requestId })),
  ]);
  const texts: string[] = [];
  for (const [result, name] of [
    [a, 'alpha'],
    [b, 'beta'],
  ] as const) {
    expect(result.wire).toBe(OPERATOR_WIRE);
    expect(result.nodeId).toBe(node(name));
    expect(result.usage).toEqual({ inputTokens: 39, outputTokens: 32 });
    expect(JSON.stringify(result)).not.toContain('France'); // nothing in clear on the wire
    const opened = openJsonEnvelope(result.sealedResult, coordinator.box.secretKey, coordinator.box.publicKey, {
      expectRequestId: requestId,
    }) as { text: string };
    texts.push(opened.text);
    expect(JSON.stringify(result)).not.toContain(opened.text.slice(0, 24));
    expect(poeMatches({ requestId, result: opened.text, nodeId: result.nodeId }, result.poe)).toBe(true);
    expect(verifyPoeSignature(result.poe, result.signature, (await nodeRow(name)).signPublicKey)).toBe(true);
  }
  expect(texts[0]).toBe(texts[1]);
  expect(texts[0]).toBe(FRANCE_32);
  expect(a.poe).not.toBe(b.poe); // the PoE binds the node id
  // Another node's key cannot vouch for this PoE.
  expect(verifyPoeSignature(a.poe, a.signature, (await nodeRow('beta')).signPublicKey)).toBe(false);
});

test('a node runs only dispatches signed by the coordinator key it pinned, and seals only to the pinned reply key', async () => {
  const genuine = await dispatchInput(node('alpha'));
  const attacker = createIdentity();
  const { coordinatorSignature: _sig, ...unsigned } = genuine;
  const cases: Array<[string, DispatchInput]> = [
    ['unsigned', unsigned],
    ['signed by another key', signed(genuine, attacker.sign.secretKey)],
    ['another reply key, the genuine signature', { ...genuine, replyToBoxPublicKey: toBase64(attacker.box.publicKey) }],
    ['another reply key, signed by the attacker', signed({ ...genuine, replyToBoxPublicKey: toBase64(attacker.box.publicKey) }, attacker.sign.secretKey)],
    ['the genuine reply key, another model', { ...genuine, maxNewTokens: 33 }],
  ];
  for (const [name, input] of cases) {
    const failure = await failureOf(dispatch(input));
    expect([name, failure.type, failure.nonRetryable]).toEqual([name, 'DISPATCH_NOT_AUTHENTIC', true]);
  }
  // The genuine dispatch still runs, its result sealed to the pinned key.
  const result = await dispatch(genuine);
  expect(openJsonEnvelope(result.sealedResult, coordinator.box.secretKey, coordinator.box.publicKey, { expectRequestId: genuine.requestId })).toMatchObject({ text: FRANCE_32 });
  expect(operators.get('alpha')!.stderr()).not.toContain('capital of France');
});

test('an envelope sealed to node A and dispatched to node B is refused as not for this node', async () => {
  const input = await dispatchInput(node('beta'), { sealTo: node('alpha') });
  const failure = await failureOf(dispatch(input));
  expect(failure.type).toBe('ENVELOPE_NOT_FOR_THIS_NODE');
  expect(failure.nonRetryable).toBe(true);
});

test('typed, non-retryable refusals: tampering, replay, wrong node id, unserved model, limits', async () => {
  const tampered = await dispatchInput(node('alpha'));
  const bytes = Buffer.from(tampered.envelope.ciphertext, 'base64');
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0x01;
  tampered.envelope = { ...tampered.envelope, ciphertext: bytes.toString('base64') };

  const replayed = await dispatchInput(node('alpha'));
  replayed.requestId = `req-${randomUUID()}`; // envelope stays bound to the original request id
  // Signed again as a (faulty) coordinator would: the node's own checks still refuse them.
  const [tamperedSigned, replayedSigned] = [signed(tampered), signed(replayed)];

  const longPrompt = [{ role: 'user' as const, content: 'story '.repeat(3000) }];
  const cases: Array<[string, DispatchInput, string?]> = [
    ['ENVELOPE_TAMPERED', tamperedSigned],
    ['ENVELOPE_REQUEST_MISMATCH', replayedSigned],
    ['DISPATCH_NOT_FOR_THIS_NODE', await dispatchInput(node('beta')), nodeTaskQueue(node('alpha'))],
    ['MODEL_NOT_SERVED', await dispatchInput(node('alpha'), { model: 'some-other-model' })],
    ['PROMPT_TOO_LONG', await dispatchInput(node('alpha'), { messages: longPrompt })],
    ['MAX_NEW_TOKENS_EXCEEDED', await dispatchInput(node('alpha'), { maxNewTokens: 5000 })],
    ['DISPATCH_NOT_AUTHENTIC', await dispatchInput(node('alpha'), { replyToBoxPublicKey: 'not-a-key' })],
  ];
  for (const [code, input, queue] of cases) {
    const handle = await startDispatch(queue ?? nodeTaskQueue(input.nodeId), input);
    const failure = await failureOf(handle.result());
    expect([code, failure.type, failure.nonRetryable]).toEqual([code, code, true]);
    // Refused on the first attempt: the fixture's retry policy never ran a second one.
    const history = await handle.fetchHistory();
    const starts = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes);
    expect(starts.map((e) => e.activityTaskStartedEventAttributes?.attempt)).toEqual([1]);
  }
  // The operator logs request ids and codes, never prompt text.
  const logs = operators.get('alpha')!.stderr();
  expect(logs).toContain('PROMPT_TOO_LONG');
  expect(logs).not.toContain('capital of France');
  expect(logs).not.toContain('story story');
});

test('cancelling a dispatch stops the generation mid-way and the activity ends cancelled', async () => {
  const maxNewTokens = 2030;
  const input = await dispatchInput(node('gamma'), {
    messages: [{ role: 'user', content: 'Tell me a long story.' }],
    maxNewTokens,
  });
  const handle = await startDispatch(nodeTaskQueue(node('gamma')), input, 10_000);
  // Wait for the first progress heartbeat (token counts only); freeze the node so the generation cannot finish
  // before the cancellation reaches it, cancel, and let it run again once the server recorded the request.
  const details = await waitFor(
    'a progress heartbeat',
    async () => {
      const pending = (await handle.describe()).raw.pendingActivities?.[0];
      return pending?.heartbeatDetails?.payloads?.length ? pending.heartbeatDetails : undefined;
    },
    20_000,
  );
  const gamma = operators.get('gamma')!;
  gamma.child.kill('SIGSTOP');
  try {
    // Sealed to the coordinator like everything the operator writes that is not a wire message; progress only inside.
    const [progress] = await fixtureCodec.decode([details.payloads![0]! as Parameters<typeof fixtureCodec.decode>[0][number]]);
    expect(Buffer.from(progress!.data!).toString()).toMatch(/^\{"tokens":\d+\}$/);
    await handle.cancel();
    await waitFor('the cancellation request in history', async () => {
      const events = (await handle.fetchHistory()).events ?? [];
      return events.some((e) => e.activityTaskCancelRequestedEventAttributes) ? true : undefined;
    });
  } finally {
    gamma.child.kill('SIGCONT');
  }
  const error = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
  const history = await handle.fetchHistory();
  const types = (history.events ?? []).map((e) => Object.keys(e).find((k) => k.endsWith('EventAttributes')));
  expect(types).toContain('activityTaskCanceledEventAttributes');
  expect(types).not.toContain('activityTaskCompletedEventAttributes');
  const line = await waitFor('the operator log of the cancellation', async () =>
    gamma.logs().find((l) => l.msg === 'inference cancelled' && l.requestId === input.requestId),
  );
  expect(line.outputTokens).toBeGreaterThan(0);
  expect(line.outputTokens as number).toBeLessThan(maxNewTokens);
});

test('a forged announcement is refused and stores nothing', async () => {
  const impostor = createIdentity();
  const victim = await nodeRow('alpha');
  const capabilities = { models: [MODEL], dtype: 'fp16', device: 'cpu' as const, maxContextTokens: 2048, maxNewTokens: 64, concurrency: 1 };
  const signed = signAnnouncement(impostor, capabilities);
  const forgeries: RegistrationInput['announcement'][] = [
    { ...signed, capabilities: { ...capabilities, concurrency: 8 } }, // altered after signing
    { ...signed, nodeId: victim.nodeId, signPublicKey: victim.signPublicKey }, // claims another node's id
  ];
  for (const announcement of forgeries) {
    const run = temporal.client.workflow.execute('registerNodeWorkflow', {
      taskQueue: COORDINATOR_TASK_QUEUE,
      workflowId: `register-forged-${randomUUID()}`,
      args: [{ wire: OPERATOR_WIRE, announcement } satisfies RegistrationInput],
    });
    const failure = await failureOf(run);
    expect(failure.type).toBe('ANNOUNCEMENT_INVALID');
    expect(failure.message).toMatch(/signature is invalid/);
  }
  expect(await db.node.count({ where: { nodeId: impostor.nodeId } })).toBe(0);
  expect((await nodeRow('alpha')).boxPublicKey).toBe(victim.boxPublicKey);

  const genuine = await temporal.client.workflow.execute('registerNodeWorkflow', {
    taskQueue: COORDINATOR_TASK_QUEUE,
    workflowId: `register-genuine-${randomUUID()}`,
    args: [{ wire: OPERATOR_WIRE, announcement: signed } satisfies RegistrationInput],
  });
  expect(genuine).toEqual<RegistrationResult>({
    wire: OPERATOR_WIRE,
    nodeId: impostor.nodeId,
    taskQueue: nodeTaskQueue(impostor.nodeId),
    coordinatorBoxPublicKey: toBase64(coordinator.box.publicKey),
    coordinatorSignPublicKey: toBase64(coordinator.sign.publicKey),
  });
  await temporal.client.workflow.getHandle(`node-health-${impostor.nodeId}`).terminate('test: no such process');
  await db.healthSample.deleteMany({ where: { nodeId: impostor.nodeId } });
  await db.node.delete({ where: { nodeId: impostor.nodeId } });
});

test('key file is private and the node id survives a restart; restart re-announces', async () => {
  const keyFile = path.join(stateRoot, 'operators', 'alpha', 'node-key.json');
  expect(statSync(keyFile).mode & 0o777).toBe(0o600);
  const before = await nodeRow('alpha');
  expect(await operators.get('alpha')!.stop('SIGTERM')).toBe(0); // graceful stop
  const nodeId = await startOperator('alpha');
  expect(nodeId).toBe(before.nodeId);
  const after = await nodeRow('alpha');
  expect(after.lastAnnouncedAt.getTime()).toBeGreaterThan(before.lastAnnouncedAt.getTime());
  expect(after.signPublicKey).toBe(before.signPublicKey);
  expect(await db.node.count({ where: { nodeId } })).toBe(1);
  // The monitor was already running; the re-announcement left that one in place.
  const health = await temporal.client.workflow.getHandle(`node-health-${nodeId}`).describe();
  expect(health.status.name).toBe('RUNNING');
});

test('a suspended node is refused at start-up: the operator exits non-zero with the reason', async () => {
  await db.node.update({ where: { nodeId: node('beta') }, data: { status: 'SUSPENDED' } });
  try {
    expect(await operators.get('beta')!.stop('SIGTERM')).toBe(0);
    const proc = spawnOperator(operatorEnv('beta'));
    expect(await proc.exited).toBe(1);
    expect(proc.stderr()).toMatch(/parallelix: RegistrationRefusedError \[REGISTRATION_REFUSED\]: coordinator refused the announcement \(NODE_NOT_ADMITTED\)/);
    expect(proc.stdout()).not.toMatch(/ready on task queue/);
  } finally {
    await db.node.update({ where: { nodeId: node('beta') }, data: { status: 'ACTIVE' } });
    await startOperator('beta');
  }
});

test('a node that stops polling is probed down: its uptime falls and it goes OFFLINE', async () => {
  const nodeId = node('gamma');
  const uptime = async (): Promise<number | null> => (await nodeUptimes(db, [nodeId], 10 * 60_000)).get(nodeId) ?? null;
  await waitFor('an up sample for gamma', async () => ((await db.healthSample.count({ where: { nodeId, up: true } })) > 0 ? true : undefined));
  operators.get('gamma')!.child.kill('SIGKILL');
  await operators.get('gamma')!.exited;
  const killedAt = new Date();
  try {
    const before = await uptime();
    await waitFor(
      'two down samples',
      async () => ((await db.healthSample.count({ where: { nodeId, up: false, at: { gte: killedAt } } })) >= 2 ? true : undefined),
      30_000,
    );
    // A probe started after the process died cannot have found it polling.
    expect(await db.healthSample.count({ where: { nodeId, up: true, at: { gte: killedAt } } })).toBe(0);
    expect((await uptime())!).toBeLessThan(before!);
    await waitFor('gamma OFFLINE', async () => ((await nodeRow('gamma')).status === 'OFFLINE' ? true : undefined));
    // The other nodes are still up.
    const latest = await db.healthSample.findFirstOrThrow({ where: { nodeId: node('alpha') }, orderBy: { at: 'desc' } });
    expect(latest.up).toBe(true);
  } finally {
    await startOperator('gamma');
  }
});
