import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { getBalance } from '../../src/db/credits.js';
import {
  createParallelixClient,
  IdempotencyKeyReusedError,
  InsufficientCreditsError,
  InvalidInputError,
  NoCapableNodeError,
  type ParallelixClient,
} from '../../src/sdk/index.js';
import { startTestNetwork, TEST_MODEL, type TestNetwork } from '../helpers/network.js';
import { FRANCE_32_TEXT, FRANCE_MESSAGES } from '../fixtures/reference-prompt.js';

const messages = FRANCE_MESSAGES;
const EXPECTED_TEXT = FRANCE_32_TEXT;

let network: TestNetwork;
let px: ParallelixClient;

beforeAll(async () => {
  network = await startTestNetwork({ policy: { sampleProbability: 0 }, operatorNames: ['alpha', 'beta'] });
  px = await createParallelixClient({
    address: network.temporal.server.address,
    namespace: network.temporal.server.namespace,
    codecKeyFile: path.join(network.stateRoot, 'coordinator', 'codec-key'),
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
