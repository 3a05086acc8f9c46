import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import OpenAI, { APIError, AuthenticationError } from 'openai';
import { getBalance } from '../../src/db/credits.js';
import { createApiKey, revokeApiKey } from '../../src/gateway/api-keys.js';
import { createGateway } from '../../src/gateway/server.js';
import { createParallelixClient, type ParallelixClient } from '../../src/sdk/index.js';
import { createLogger } from '../../src/shared/logger.js';
import { startTestNetwork, TEST_MODEL, type TestNetwork } from '../helpers/network.js';
import { FRANCE_32_TEXT, FRANCE_MESSAGES } from '../fixtures/reference-prompt.js';

const messages = FRANCE_MESSAGES;
const EXPECTED_TEXT = FRANCE_32_TEXT;

let network: TestNetwork;
let px: ParallelixClient;
let gateway: FastifyInstance;
let baseURL: string;

beforeAll(async () => {
  network = await startTestNetwork({ policy: { sampleProbability: 0 }, operatorNames: ['alpha'] });
  px = await createParallelixClient({
    address: network.temporal.server.address,
    namespace: network.temporal.server.namespace,
    codecKeyFile: path.join(network.stateRoot, 'coordinator', 'codec-key'),
  });
  gateway = createGateway({ sdk: px, db: network.db, logger: createLogger('gateway-test') });
  await gateway.listen({ host: '127.0.0.1', port: 0 });
  const address = gateway.server.address();
  if (!address || typeof address === 'string') throw new Error('gateway has no port');
  baseURL = `http://127.0.0.1:${address.port}/v1`;
}, 240_000);

afterAll(async () => {
  await gateway?.close();
  await px?.close();
  await network?.stop();
});

/** A funded user with a fresh key, and the official client for it (no retries: each status is seen once). */
async function customer(credits: number): Promise<{ userId: string; key: string; openai: OpenAI }> {
  const userId = `user-${randomUUID()}`;
  const { key } = await createApiKey(network.db, userId, 'test');
  if (credits > 0) await network.fund(userId, credits);
  return { userId, key, openai: new OpenAI({ apiKey: key, baseURL, maxRetries: 0 }) };
}

async function until(check: () => Promise<boolean>, deadlineMs = 60_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function post(key: string | null, body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: { error: Record<string, unknown> } }> {
  const response = await fetch(`${baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body,
  });
  return { status: response.status, json: (await response.json()) as { error: Record<string, unknown> } };
}

test('non-streaming completion: the SDK result for the same prompt, usage, ParalleliX extras and header', async () => {
  const { userId, openai } = await customer(100_000);
  const { data: completion, response } = await openai.chat.completions
    .create({ model: TEST_MODEL, messages, max_tokens: 32, temperature: 0, user: 'ignored' })
    .withResponse();
  const viaSdk = await (await px.submit({ userId, model: TEST_MODEL, messages, maxNewTokens: 32 })).result();

  expect(completion.object).toBe('chat.completion');
  expect(completion.choices).toHaveLength(1);
  expect(completion.choices[0]?.message).toMatchObject({ role: 'assistant', content: viaSdk.text });
  expect(completion.choices[0]?.message.content).toBe(EXPECTED_TEXT);
  expect(completion.choices[0]?.finish_reason).toBe('length');
  expect(completion.usage).toEqual({
    prompt_tokens: viaSdk.usage.inputTokens,
    completion_tokens: viaSdk.usage.outputTokens,
    total_tokens: viaSdk.usage.inputTokens + viaSdk.usage.outputTokens,
  });
  const extras = (completion as unknown as { parallelix: Record<string, unknown> }).parallelix;
  expect(extras).toMatchObject({ nodeId: network.operators.get('alpha')?.nodeId, verdict: viaSdk.verdict });
  expect(extras.anchorTx).toMatch(/^0x[0-9a-f]{64}$/);
  // The extras are the request's own anchored record.
  const record = await network.db.executionRecord.findUniqueOrThrow({ where: { requestId: String(extras.requestId) } });
  expect(record.anchorTxHash).toBe(extras.anchorTx);
  expect(record.poe.replace(/^0x/, '')).toBe(String(extras.poe).replace(/^0x/, ''));
  expect(response.headers.get('x-parallelix-request-id')).toBe(extras.requestId);
  expect(completion.id).toBe(`chatcmpl-${String(extras.requestId)}`);
  const charged = Number(extras.creditsCharged) + viaSdk.creditsCharged;
  expect((await getBalance(network.db, userId)).balance).toBe(BigInt(100_000 - charged));
});

test('streaming: role first, deltas concatenate to the text, finish_reason, usage, then [DONE]; the Idempotency-Key is honoured', async () => {
  const { userId, openai } = await customer(100_000);
  const headers = { 'Idempotency-Key': `order-${randomUUID()}` };
  const { data: stream, response } = await openai.chat.completions
    .create({ model: TEST_MODEL, messages, max_completion_tokens: 32, stream: true, stream_options: { include_usage: true } }, { headers })
    .withResponse();
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const requestId = response.headers.get('x-parallelix-request-id');
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);

  expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
  const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
  expect(text).toBe(EXPECTED_TEXT);
  const finishes = chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean);
  expect(finishes).toEqual(['length']);
  const usage = chunks.at(-1)?.usage;
  expect(usage?.completion_tokens).toBe(32);
  expect(usage?.total_tokens).toBe((usage?.prompt_tokens ?? 0) + 32);
  expect(new Set(chunks.map((c) => c.id))).toEqual(new Set([`chatcmpl-${requestId}`]));

  // The same key again (now non-streaming) reaches the same paid request: one charge.
  const again = await openai.chat.completions.create({ model: TEST_MODEL, messages, max_tokens: 32 }, { headers });
  expect(again.choices[0]?.message.content).toBe(EXPECTED_TEXT);
  expect((again as unknown as { parallelix: { requestId: string } }).parallelix.requestId).toBe(requestId);
  expect(await network.db.creditLedgerEntry.count({ where: { user: { externalId: userId }, kind: 'CAPTURE' } })).toBe(1);
});

test('a client that disconnects while waiting for its stream does not cancel the request: it completes and is charged', async () => {
  const { userId, key } = await customer(100_000);
  const abort = new AbortController();
  const pending = fetch(`${baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: TEST_MODEL, messages, max_tokens: 32, stream: true }),
    signal: abort.signal,
  }).catch((e: unknown) => e);
  const byUser = { user: { externalId: userId } };
  await until(async () => (await network.db.inferenceRequest.count({ where: byUser })) > 0);
  abort.abort();
  expect(await pending).toMatchObject({ name: 'AbortError' });
  // Settled: the request row's last move in step 14 (after the capture).
  await until(async () => (await network.db.inferenceRequest.findFirst({ where: { ...byUser, status: 'SETTLED' } })) !== null);
  expect(await network.db.creditLedgerEntry.count({ where: { ...byUser, kind: 'CAPTURE' } })).toBe(1);
  const request = await network.db.inferenceRequest.findFirstOrThrow({ where: byUser });
  expect((await getBalance(network.db, userId)).balance).toBe(100_000n - (request.actualCost ?? 0n));
  expect(request.actualCost).toBeGreaterThan(0n);
});

test('models: the list offered by active nodes, in OpenAI format', async () => {
  const { openai } = await customer(0);
  const models = [];
  for await (const model of openai.models.list()) models.push(model);
  expect(models.map((m) => m.id)).toEqual([TEST_MODEL]);
  expect(models[0]).toMatchObject({ object: 'model', owned_by: 'parallelix' });
  expect((await openai.models.retrieve(TEST_MODEL)).id).toBe(TEST_MODEL);
  await expect(openai.models.retrieve('no-such-model')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
});

test('401 for an unknown, revoked or missing key', async () => {
  const bad = new OpenAI({ apiKey: 'pxk_not-a-real-key', baseURL, maxRetries: 0 });
  await expect(bad.chat.completions.create({ model: TEST_MODEL, messages, max_tokens: 8 })).rejects.toBeInstanceOf(AuthenticationError);
  await expect(bad.models.list()).rejects.toBeInstanceOf(AuthenticationError);

  const { userId, key, openai } = await customer(100_000);
  const keyId = (await network.db.apiKey.findFirstOrThrow({ where: { user: { externalId: userId } } })).id;
  await revokeApiKey(network.db, keyId);
  await expect(openai.chat.completions.create({ model: TEST_MODEL, messages, max_tokens: 8 })).rejects.toMatchObject({
    status: 401,
    code: 'invalid_api_key',
    type: 'invalid_request_error',
  });

  const missing = await post(null, JSON.stringify({ model: TEST_MODEL, messages, max_tokens: 8 }));
  expect(missing.status).toBe(401);
  expect(missing.json.error).toEqual({ message: expect.stringMatching(/API key/), type: 'invalid_request_error', param: null, code: 'invalid_api_key' });
  // Nothing ran for the revoked key's user.
  expect(await network.db.inferenceRequest.count({ where: { user: { externalId: userId } } })).toBe(0);
  expect(key).toMatch(/^pxk_/);
});

test('402 when the balance cannot cover the request, streaming or not; nothing is charged', async () => {
  const { userId, openai } = await customer(5);
  const refused = await openai.chat.completions.create({ model: TEST_MODEL, messages, max_tokens: 32 }).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(APIError);
  expect(refused).toMatchObject({ status: 402, code: 'insufficient_credits', type: 'insufficient_quota' });
  const streamed = await openai.chat.completions.create({ model: TEST_MODEL, messages, max_tokens: 32, stream: true }).catch((e: unknown) => e);
  expect(streamed).toMatchObject({ status: 402, code: 'insufficient_credits' });
  expect(await getBalance(network.db, userId)).toEqual({ balance: 5n, held: 0n });
});

test('400 for a malformed body, naming the field', async () => {
  const { key } = await customer(100_000);
  const role = await post(key, JSON.stringify({ model: TEST_MODEL, messages: [{ role: 'robot', content: 'hi' }] }));
  expect(role.status).toBe(400);
  expect(role.json.error).toMatchObject({ type: 'invalid_request_error', param: 'messages[0].role' });
  expect(role.json.error.message).toMatch(/messages\[0\]\.role/);

  const noModel = await post(key, JSON.stringify({ messages }));
  expect(noModel).toMatchObject({ status: 400, json: { error: { param: 'model' } } });

  const tokens = await post(key, JSON.stringify({ model: TEST_MODEL, messages, max_tokens: 0 }));
  expect(tokens).toMatchObject({ status: 400, json: { error: { param: 'max_tokens' } } });

  const n = await post(key, JSON.stringify({ model: TEST_MODEL, messages, n: 2 }));
  expect(n).toMatchObject({ status: 400, json: { error: { param: 'n', message: expect.stringMatching(/not supported/) } } });

  const notJson = await post(key, '{"model": ');
  expect(notJson.status).toBe(400);
  expect(notJson.json.error).toMatchObject({ type: 'invalid_request_error' });

  const idempotency = await post(key, JSON.stringify({ model: TEST_MODEL, messages }), { 'Idempotency-Key': 'x'.repeat(201) });
  expect(idempotency).toMatchObject({ status: 400, json: { error: { param: 'Idempotency-Key' } } });
});

test('503 for a model no node serves; the hold is released', async () => {
  const { userId, openai } = await customer(100_000);
  const refused = await openai.chat.completions.create({ model: 'no-such-model', messages, max_tokens: 8 }).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(APIError);
  expect(refused).toMatchObject({ status: 503, code: 'no_capable_node', param: 'model' });
  expect(await getBalance(network.db, userId)).toEqual({ balance: 100_000n, held: 0n });
});
