import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { getBalance } from '../../src/db/credits.js';
import {
  createParallelixClient,
  IdempotencyKeyReusedError,
  InsufficientCreditsError,
  InvalidInputError,
  NoCapableNodeError,
  RequestCancelledError,
  RequestFailedError,
  type ParallelixClient,
} from '../../src/sdk/index.js';
import { projectRoot } from '../../src/shared/paths.js';
import { waitFor } from '../helpers/observe.js';
import { modelAlias, startTestNetwork, TEST_MODEL, type TestNetwork } from '../helpers/network.js';
import { FRANCE_32_TEXT, FRANCE_MESSAGES } from '../fixtures/reference-prompt.js';
import { codecKeyFile, coordinatorKeyDir } from '../../src/codec/codec-key.js';

const messages = FRANCE_MESSAGES;
const EXPECTED_TEXT = FRANCE_32_TEXT;

let network: TestNetwork;
let px: ParallelixClient;

beforeAll(async () => {
  network = await startTestNetwork({ policy: { sampleProbability: 0 }, operatorNames: ['alpha', 'beta'] });
  px = await createParallelixClient({
    address: network.temporal.server.address,
    namespace: network.temporal.server.namespace,
    codecKeyFile: codecKeyFile(coordinatorKeyDir(network.stateRoot)),
  });
}, 240_000);

afterAll(async () => {
  await px?.close();
  await network?.stop();
});

test('submit → requestId, stream and result; the streamed text equals the result', async () => {
  const userId = `user-${randomUUID()}`;
  await network.fund(userId, 10_000);
  const request = await px.submit({ userId, model: TEST_MODEL, messages, maxNewTokens: 32 });
  const requestId = await request.requestId();
  let streamed = '';
  for await (const chunk of request.stream()) streamed += chunk;
  const result = await request.result();
  expect(result.requestId).toBe(requestId);
  expect(streamed).toBe(EXPECTED_TEXT);
  expect(result.text).toBe(EXPECTED_TEXT);
  expect(result.anchorTx).toMatch(/^0x[0-9a-f]{64}$/);
  const status = await request.status();
  expect(status).toMatchObject({ step: 'Done', requestId, state: 'COMPLETED' });
});

test('the same idempotency key reaches the same request and is charged once', async () => {
  const userId = `user-${randomUUID()}`;
  await network.fund(userId, 10_000);
  const submit = () => px.submit({ userId, model: TEST_MODEL, messages, maxNewTokens: 32, idempotencyKey: 'order-42' });
  const [a, b] = await Promise.all([submit(), submit()]);
  expect(a.workflowId).toBe(b.workflowId);
  const first = await a.result();
  const again = await (await submit()).result();
  expect(again.requestId).toBe(first.requestId);
  expect(await network.db.creditLedgerEntry.count({ where: { user: { externalId: userId }, kind: 'CAPTURE' } })).toBe(1);
  expect((await getBalance(network.db, userId)).balance).toBe(BigInt(10_000 - first.creditsCharged));
  // Another user's identical key is another request.
  const other = `user-${randomUUID()}`;
  await network.fund(other, 10_000);
  const theirs = await px.submit({ userId: other, model: TEST_MODEL, messages, maxNewTokens: 32, idempotencyKey: 'order-42' });
  expect(theirs.workflowId).not.toBe(a.workflowId);
  await theirs.result();
});

test('an idempotency key is bound to its request: other input under it is refused, whatever state the first run is in', async () => {
  const userId = `user-${randomUUID()}`;
  await network.fund(userId, 10_000);
  const idempotencyKey = `order-${randomUUID()}`;
  const first = await px.submit({ userId, model: TEST_MODEL, messages, maxNewTokens: 32, idempotencyKey });
  // While the first run is still going, and after it completed.
  await expect(px.submit({ userId, model: TEST_MODEL, messages, maxNewTokens: 16, idempotencyKey })).rejects.toMatchObject({
    name: 'IdempotencyKeyReusedError',
    fields: ['maxNewTokens'],
  });
  await first.result();
  const other = [{ role: 'user' as const, content: 'Something else entirely.' }];
  const conflict = await px.submit({ userId, model: TEST_MODEL, messages: other, maxNewTokens: 32, idempotencyKey }).catch((e: unknown) => e);
  expect(conflict).toBeInstanceOf(IdempotencyKeyReusedError);
  expect((conflict as IdempotencyKeyReusedError).fields).toEqual(['messages']);
  // The same conversation in another shape (normalised alike: the system message moves first) is the same request.
  const reordered = [messages[1]!, messages[0]!];
  const same = await px.submit({ userId, model: TEST_MODEL, messages: reordered, maxNewTokens: 32, idempotencyKey });
  expect((await same.result()).requestId).toBe((await first.result()).requestId);
  expect(await network.db.creditLedgerEntry.count({ where: { user: { externalId: userId }, kind: 'CAPTURE' } })).toBe(1);
});

test('a request refused at admission does not hold its key: after a top-up the same key runs it', async () => {
  const userId = `user-${randomUUID()}`;
  await network.fund(userId, 5);
  const idempotencyKey = `order-${randomUUID()}`;
  const refused = await px.submit({ userId, model: TEST_MODEL, messages, maxNewTokens: 32, idempotencyKey });
  await expect(refused.result()).rejects.toBeInstanceOf(InsufficientCreditsError);
  // Retrying without a top-up is refused again (a new run, refused again), never charged.
  await expect((await px.submit({ userId, model: TEST_MODEL, messages, maxNewTokens: 32, idempotencyKey })).result()).rejects.toBeInstanceOf(
    InsufficientCreditsError,
  );
  await network.fund(userId, 10_000);
  const retried = await px.submit({ userId, model: TEST_MODEL, messages, maxNewTokens: 32, idempotencyKey });
  expect(retried.workflowId).toBe(refused.workflowId);
  const result = await retried.result();
  expect(result.text).toBe(EXPECTED_TEXT);
  // And from now on the key answers that completed run.
  expect((await (await px.submit({ userId, model: TEST_MODEL, messages, maxNewTokens: 32, idempotencyKey })).result()).requestId).toBe(result.requestId);
  expect(await network.db.creditLedgerEntry.count({ where: { user: { externalId: userId }, kind: 'CAPTURE' } })).toBe(1);
});

test('typed errors: insufficient credits, no capable node, rejected input', async () => {
  const poor = `poor-${randomUUID()}`;
  await network.fund(poor, 5);
  const refused = await px.submit({ userId: poor, model: TEST_MODEL, messages, maxNewTokens: 32 });
  await expect(refused.result()).rejects.toBeInstanceOf(InsufficientCreditsError);
  await expect(refused.requestId()).rejects.toBeInstanceOf(InsufficientCreditsError);

  const rich = `rich-${randomUUID()}`;
  await network.fund(rich, 10_000);
  const nobody = await px.submit({ userId: rich, model: 'no-such-model', messages, maxNewTokens: 32 });
  await expect(nobody.result()).rejects.toBeInstanceOf(NoCapableNodeError);
  expect(await getBalance(network.db, rich)).toEqual({ balance: 10_000n, held: 0n });

  await expect(px.submit({ userId: rich, model: TEST_MODEL, messages: [], maxNewTokens: 32 })).rejects.toBeInstanceOf(InvalidInputError);
  await expect(px.submit({ userId: rich, model: TEST_MODEL, messages, maxNewTokens: 0 })).rejects.toThrow(/maxNewTokens/);
  await expect(
    px.submit({ userId: rich, model: TEST_MODEL, messages: [{ role: 'robot', content: 'x' }] as never, maxNewTokens: 8 }),
  ).rejects.toThrow(/messages\.0\.role/);
});

describe('admitted requests that end without a result', () => {
  const FAULTY_ENTRY = path.join(projectRoot, 'test', 'fixtures', 'faulty-operator.ts');
  /** Two nodes that always fail verification (wrong PoE), serving a model nobody else serves. */
  let broken: ReturnType<typeof modelAlias>;

  beforeAll(async () => {
    broken = modelAlias(network.stateRoot, 'tiny-broken');
    for (const name of ['broken-1', 'broken-2']) {
      await network.startOperator(name, { ...broken.env, PARALLELIX_TEST_FAULT: 'wrong-poe' }, FAULTY_ENTRY);
    }
  }, 120_000);

  afterAll(async () => {
    for (const name of ['broken-1', 'broken-2']) await network.operators.get(name)?.process.stop('SIGTERM');
  });

  async function funded(): Promise<string> {
    const userId = `user-${randomUUID()}`;
    await network.fund(userId, 10_000);
    return userId;
  }

  test('running out of nodes: every capable node failed → NoCapableNodeError naming the exclusions; the hold is released', async () => {
    const userId = await funded();
    const request = await px.submit({ userId, model: broken.model, messages, maxNewTokens: 32 });
    const error = await request.result().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoCapableNodeError);
    expect((error as Error).message).toMatch(/excluded: 2/);
    expect(await getBalance(network.db, userId)).toEqual({ balance: 10_000n, held: 0n });
    const row = await network.db.inferenceRequest.findFirstOrThrow({ where: { workflowId: request.workflowId } });
    expect(row.status).toBe('FAILED');
    expect(await network.db.nodePenalty.count({ where: { requestId: row.requestId, reason: 'POE_MISMATCH' } })).toBe(2);
  });

  test('the retry budget spent before the nodes run out → RequestFailedError with code ALL_NODES_FAILED; the hold is released', async () => {
    await network.restartCoordinator({ policy: { ...network.policy, pipeline: { ...network.policy.pipeline, maxNodesTried: 1 } } });
    try {
      const userId = await funded();
      const request = await px.submit({ userId, model: broken.model, messages, maxNewTokens: 32 });
      const error = await request.result().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RequestFailedError);
      expect((error as RequestFailedError).code).toBe('ALL_NODES_FAILED');
      expect(await getBalance(network.db, userId)).toEqual({ balance: 10_000n, held: 0n });
    } finally {
      await network.restartCoordinator();
    }
  });

  test('cancelled after admission → RequestCancelledError from result() and stream(); the hold is released', async () => {
    const userId = await funded();
    // The honest nodes frozen: the request is admitted and dispatched but cannot finish before the cancel.
    const nodes = ['alpha', 'beta'].map((name) => network.operators.get(name)!.process.child);
    for (const node of nodes) node.kill('SIGSTOP');
    try {
      const request = await px.submit({ userId, model: TEST_MODEL, messages, maxNewTokens: 32 });
      const requestId = await request.requestId();
      await waitFor('the dispatch', async () =>
        (await network.db.inferenceRequest.findUnique({ where: { requestId } }))?.status === 'DISPATCHED' ? true : undefined,
      );
      await network.client.workflow.getHandle(request.workflowId).cancel();
      await expect(request.result()).rejects.toBeInstanceOf(RequestCancelledError);
      const streamed = (async () => {
        for await (const chunk of request.stream()) throw new Error(`a cancelled request streamed ${chunk}`);
      })();
      await expect(streamed).rejects.toBeInstanceOf(RequestCancelledError);
      expect(await getBalance(network.db, userId)).toEqual({ balance: 10_000n, held: 0n });
    } finally {
      for (const node of nodes) node.kill('SIGCONT');
    }
  });
});
