import { randomUUID } from 'node:crypto';
import OpenAI, { APIError, AuthenticationError, RateLimitError } from 'openai';
import { getBalance } from '../../src/db/credits.js';
import { createApiKey, revokeApiKey } from '../../src/gateway/api-keys.js';
import { createGateway } from '../../src/gateway/server.js';
import type { ParallelixClient } from '../../src/sdk/index.js';
import { createLogger } from '../../src/shared/logger.js';
import { getFreePort } from '../../src/shared/ports.js';
import { spawnCli } from '../helpers/cli-process.js';
import { countingFetch, listen, startGatewayNetwork, type GatewayNetwork } from '../helpers/gateway.js';
import { TEST_MODEL, type TestNetwork } from '../helpers/network.js';
import { FRANCE_32_TEXT, FRANCE_MESSAGES } from '../fixtures/reference-prompt.js';

const messages = FRANCE_MESSAGES;
const EXPECTED_TEXT = FRANCE_32_TEXT;
const APP_ORIGIN = 'http://app.example';

let network: TestNetwork;
let px: ParallelixClient;
let baseURL: string;
let stack: GatewayNetwork;

beforeAll(async () => {
  stack = await startGatewayNetwork({ corsOrigins: [APP_ORIGIN] });
  ({ network, px, baseURL } = stack);
}, 240_000);

afterAll(async () => {
  await stack?.stop();
});

/** A funded user with a fresh key, and the official client for it (no retries unless asked: each status is seen once). */
async function customer(credits: number, maxRetries = 0): Promise<{ userId: string; key: string; openai: OpenAI; calls: () => number }> {
  const userId = `user-${randomUUID()}`;
  const { key } = await createApiKey(network.db, userId, 'test');
  if (credits > 0) await network.fund(userId, credits);
  const counted = countingFetch();
  return { userId, key, openai: new OpenAI({ apiKey: key, baseURL, maxRetries, fetch: counted.fetch }), calls: counted.calls };
}

async function until(check: () => Promise<boolean>, deadlineMs = 60_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface Answer {
  status: number;
  headers: Headers;
  json: { error: Record<string, unknown> };
}

async function post(key: string | null, body: string, headers: Record<string, string> = {}, url = `${baseURL}/chat/completions`): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body,
  });
  return { status: response.status, headers: response.headers, json: (await response.json()) as { error: Record<string, unknown> } };
}

const extrasOf = (value: unknown): Record<string, unknown> => (value as { parallelix: Record<string, unknown> }).parallelix;

test('non-streaming completion: the SDK result for the same prompt, usage, fingerprint, ParalleliX extras and headers', async () => {
  const { userId, openai } = await customer(100_000);
  const { data: completion, response, request_id } = await openai.chat.completions
    .create({ model: TEST_MODEL, messages, max_tokens: 32, temperature: 0, seed: 7, user: 'ignored' })
    .withResponse();
  const viaSdk = await (await px.submit({ userId, model: TEST_MODEL, messages, maxNewTokens: 32 })).result();

  expect(completion.object).toBe('chat.completion');
  expect(completion.choices).toHaveLength(1);
  expect(completion.choices[0]?.message).toMatchObject({ role: 'assistant', content: viaSdk.text });
  expect(completion.choices[0]?.message.content).toBe(EXPECTED_TEXT);
  expect(completion.choices[0]?.finish_reason).toBe('length');
  expect(completion.system_fingerprint).toMatch(/^fp_[0-9a-f]{10}$/);
  expect(completion.usage).toEqual({
    prompt_tokens: viaSdk.usage.inputTokens,
    completion_tokens: viaSdk.usage.outputTokens,
    total_tokens: viaSdk.usage.inputTokens + viaSdk.usage.outputTokens,
  });
  const extras = extrasOf(completion);
  expect(extras).toMatchObject({ nodeId: network.operators.get('alpha')?.nodeId, verdict: viaSdk.verdict });
  expect(extras.anchorTx).toMatch(/^0x[0-9a-f]{64}$/);
  // The extras are the request's own anchored record.
  const record = await network.db.executionRecord.findUniqueOrThrow({ where: { requestId: String(extras.requestId) } });
  expect(record.anchorTxHash).toBe(extras.anchorTx);
  expect(record.poe.replace(/^0x/, '')).toBe(String(extras.poe).replace(/^0x/, ''));
  expect(response.headers.get('x-parallelix-request-id')).toBe(extras.requestId);
  expect(request_id).toMatch(/^req_[0-9a-f]{32}$/);
  expect(completion.id).toBe(`chatcmpl-${String(extras.requestId)}`);
  const charged = Number(extras.creditsCharged) + viaSdk.creditsCharged;
  expect((await getBalance(network.db, userId)).balance).toBe(BigInt(100_000 - charged));
});

test('streaming: token-sized chunks that concatenate to the text, usage null until the usage chunk, fingerprint, [DONE]; the Idempotency-Key is honoured', async () => {
  const { userId, openai } = await customer(100_000);
  const headers = { 'Idempotency-Key': `order-${randomUUID()}` };
  const { data: stream, response } = await openai.chat.completions
    .create({ model: TEST_MODEL, messages, max_completion_tokens: 32, stream: true, stream_options: { include_usage: true } }, { headers })
    .withResponse();
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  expect(response.headers.get('x-request-id')).toMatch(/^req_/);
  const requestId = response.headers.get('x-parallelix-request-id');
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);

  expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
  const deltas = chunks.map((c) => c.choices[0]?.delta.content ?? '').filter(Boolean);
  expect(deltas.join('')).toBe(EXPECTED_TEXT);
  // One event per token-sized piece, not the whole text at once.
  expect(deltas.length).toBeGreaterThanOrEqual(20);
  expect(Math.max(...deltas.map((d) => [...d.trim()].length))).toBeLessThanOrEqual(6);
  const finishes = chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean);
  expect(finishes).toEqual(['length']);
  // OpenAI's shape with include_usage: every chunk has `usage`, null on all but the last (which has no choices).
  expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  const last = chunks.at(-1)!;
  expect(last.choices).toEqual([]);
  expect(last.usage?.completion_tokens).toBe(32);
  expect(last.usage?.total_tokens).toBe((last.usage?.prompt_tokens ?? 0) + 32);
  expect(new Set(chunks.map((c) => c.id))).toEqual(new Set([`chatcmpl-${requestId}`]));
  expect(new Set(chunks.map((c) => c.system_fingerprint)).size).toBe(1);
  expect(chunks[0]?.system_fingerprint).toMatch(/^fp_[0-9a-f]{10}$/);

  // The same key again (now non-streaming) reaches the same paid request: one charge.
  const again = await openai.chat.completions.create({ model: TEST_MODEL, messages, max_tokens: 32 }, { headers });
  expect(again.choices[0]?.message.content).toBe(EXPECTED_TEXT);
  expect(extrasOf(again).requestId).toBe(requestId);
  expect(again.system_fingerprint).toBe(chunks[0]?.system_fingerprint);
  expect(await network.db.creditLedgerEntry.count({ where: { user: { externalId: userId }, kind: 'CAPTURE' } })).toBe(1);
});

test('without include_usage, chunks carry no usage field at all', async () => {
  const { key } = await customer(100_000);
  const response = await fetch(`${baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: TEST_MODEL, messages, max_tokens: 8, stream: true }),
  });
  const events = (await response.text()).split('\n\n').filter(Boolean);
  expect(events.at(-1)).toBe('data: [DONE]');
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e.replace(/^data: /, '')) as Record<string, unknown>);
  expect(chunks.length).toBeGreaterThan(2);
  expect(chunks.some((c) => 'usage' in c)).toBe(false);
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

test('models: the list offered by active nodes with their context and output limits, in OpenAI format', async () => {
  const { openai } = await customer(0);
  const models = [];
  for await (const model of openai.models.list()) models.push(model);
  expect(models.map((m) => m.id)).toEqual([TEST_MODEL]);
  // The operator's defaults: 2048 context tokens, 256 new tokens.
  expect(models[0]).toMatchObject({ object: 'model', owned_by: 'parallelix', context_length: 2048, max_output_tokens: 256 });
  expect((await openai.models.retrieve(TEST_MODEL)).id).toBe(TEST_MODEL);
  await expect(openai.models.retrieve('no-such-model')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
});

test('401 for an unknown, revoked or missing key, with x-request-id', async () => {
  const bad = new OpenAI({ apiKey: 'pxk_not-a-real-key', baseURL, maxRetries: 0 });
  await expect(bad.chat.completions.create({ model: TEST_MODEL, messages, max_tokens: 8 })).rejects.toBeInstanceOf(AuthenticationError);
  await expect(bad.models.list()).rejects.toBeInstanceOf(AuthenticationError);

  const { userId, key, openai } = await customer(100_000);
  const keyId = (await network.db.apiKey.findFirstOrThrow({ where: { user: { externalId: userId } } })).id;
  await revokeApiKey(network.db, keyId);
  const revoked = await openai.chat.completions.create({ model: TEST_MODEL, messages, max_tokens: 8 }).catch((e: unknown) => e);
  expect(revoked).toMatchObject({ status: 401, code: 'invalid_api_key', type: 'invalid_request_error', requestID: expect.stringMatching(/^req_/) });

  const missing = await post(null, JSON.stringify({ model: TEST_MODEL, messages, max_tokens: 8 }));
  expect(missing.status).toBe(401);
  expect(missing.headers.get('x-request-id')).toMatch(/^req_/);
  expect(missing.json.error).toEqual({ message: expect.stringMatching(/API key/), type: 'invalid_request_error', param: null, code: 'invalid_api_key' });
  // Nothing ran for the revoked key's user.
  expect(await network.db.inferenceRequest.count({ where: { user: { externalId: userId } } })).toBe(0);
  expect(key).toMatch(/^pxk_/);
});

test('402 insufficient_quota when the balance cannot cover the request, streaming or not; not retried by the client; nothing is charged', async () => {
  const { userId, openai, calls } = await customer(5, 2);
  const refused = await openai.chat.completions.create({ model: TEST_MODEL, messages, max_tokens: 32 }).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(APIError);
  expect(refused).toMatchObject({ status: 402, code: 'insufficient_quota', type: 'insufficient_quota' });
  const streamed = await openai.chat.completions.create({ model: TEST_MODEL, messages, max_tokens: 32, stream: true }).catch((e: unknown) => e);
  expect(streamed).toMatchObject({ status: 402, code: 'insufficient_quota' });
  expect(calls()).toBe(2); // the client's two retries were not spent on it
  expect(await getBalance(network.db, userId)).toEqual({ balance: 5n, held: 0n });
});

test('a 402 under an Idempotency-Key is not remembered: after a top-up the same key is served, once', async () => {
  const { userId, openai } = await customer(5);
  const headers = { 'Idempotency-Key': `order-${randomUUID()}` };
  await expect(openai.chat.completions.create({ model: TEST_MODEL, messages, max_tokens: 32 }, { headers })).rejects.toMatchObject({ status: 402 });
  await network.fund(userId, 100_000);
  const served = await openai.chat.completions.create({ model: TEST_MODEL, messages, max_tokens: 32 }, { headers });
  expect(served.choices[0]?.message.content).toBe(EXPECTED_TEXT);
  const again = await openai.chat.completions.create({ model: TEST_MODEL, messages, max_tokens: 32 }, { headers });
  expect(extrasOf(again).requestId).toBe(extrasOf(served).requestId);
  expect(await network.db.creditLedgerEntry.count({ where: { user: { externalId: userId }, kind: 'CAPTURE' } })).toBe(1);
});

test('Idempotency-Key reused with a different body: 422 naming what differs; nothing new runs', async () => {
  const { userId, openai } = await customer(100_000);
  const headers = { 'Idempotency-Key': `order-${randomUUID()}` };
  const first = await openai.chat.completions.create({ model: TEST_MODEL, messages, max_tokens: 8 }, { headers });
  const longer = await openai.chat.completions.create({ model: TEST_MODEL, messages, max_tokens: 9 }, { headers }).catch((e: unknown) => e);
  expect(longer).toMatchObject({ status: 422, code: 'idempotency_key_reused', param: 'Idempotency-Key', message: expect.stringMatching(/max_tokens/) });
  const other = [{ role: 'user' as const, content: 'Another question.' }];
  const changed = await openai.chat.completions.create({ model: TEST_MODEL, messages: other, max_tokens: 8 }, { headers }).catch((e: unknown) => e);
  expect(changed).toMatchObject({ status: 422, message: expect.stringMatching(/messages/) });
  // Bodies that differ only in ignored fields or in streaming are the same request.
  const same = await openai.chat.completions.create({ model: TEST_MODEL, messages, max_tokens: 8, temperature: 0.9 }, { headers });
  expect(extrasOf(same).requestId).toBe(extrasOf(first).requestId);
  expect(await network.db.inferenceRequest.count({ where: { user: { externalId: userId } } })).toBe(1);
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

  const json = await post(key, JSON.stringify({ model: TEST_MODEL, messages, response_format: { type: 'json_object' } }));
  expect(json).toMatchObject({ status: 400, json: { error: { param: 'response_format', message: expect.stringMatching(/not supported/) } } });

  const notJson = await post(key, '{"model": ');
  expect(notJson.status).toBe(400);
  expect(notJson.json.error).toMatchObject({ type: 'invalid_request_error' });

  const idempotency = await post(key, JSON.stringify({ model: TEST_MODEL, messages }), { 'Idempotency-Key': 'x'.repeat(201) });
  expect(idempotency).toMatchObject({ status: 400, json: { error: { param: 'Idempotency-Key' } } });
});

test('404 model_not_found for a model no live node serves, before anything runs; the client does not retry it', async () => {
  const { userId, openai, calls } = await customer(100_000, 2);
  const refused = await openai.chat.completions.create({ model: 'no-such-model', messages, max_tokens: 8 }).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(APIError);
  expect(refused).toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
  expect(calls()).toBe(1);
  expect(await network.db.inferenceRequest.count({ where: { user: { externalId: userId } } })).toBe(0);
  expect(await getBalance(network.db, userId)).toEqual({ balance: 100_000n, held: 0n });
});

test('400 for max_tokens above every node serving the model, naming the largest on offer; not retried', async () => {
  const { userId, openai, calls } = await customer(100_000, 2);
  for (const max_tokens of [257, 32_768]) {
    const refused = await openai.chat.completions.create({ model: TEST_MODEL, messages, max_tokens }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 400, code: 'invalid_value', param: 'max_tokens', message: expect.stringMatching(/at most 256 completion tokens/) });
  }
  const viaNewName = await openai.chat.completions.create({ model: TEST_MODEL, messages, max_completion_tokens: 300 }).catch((e: unknown) => e);
  expect(viaNewName).toMatchObject({ status: 400, param: 'max_completion_tokens' });
  expect(calls()).toBe(3);
  expect(await network.db.inferenceRequest.count({ where: { user: { externalId: userId } } })).toBe(0);
});

test('400 context_length_exceeded for a prompt longer than the context window; the hold is released', async () => {
  const { userId, openai } = await customer(100_000);
  const long = [{ role: 'user' as const, content: 'hello '.repeat(2100) }];
  const refused = await openai.chat.completions.create({ model: TEST_MODEL, messages: long, max_tokens: 16 }).catch((e: unknown) => e);
  expect(refused).toMatchObject({ status: 400, code: 'context_length_exceeded', param: 'messages', message: expect.stringMatching(/maximum context length is 2048 tokens/) });
  expect(await getBalance(network.db, userId)).toEqual({ balance: 100_000n, held: 0n });
});

test('conversations OpenAI accepts are served: system-only, two system/developer messages, two user messages in a row', async () => {
  const { userId, openai } = await customer(1_000_000);
  const systemOnly = await openai.chat.completions.create({ model: TEST_MODEL, messages: [{ role: 'system', content: 'Write a haiku about rain.' }], max_tokens: 16 });
  const asUser = await (await px.submit({ userId, model: TEST_MODEL, messages: [{ role: 'user', content: 'Write a haiku about rain.' }], maxNewTokens: 16 })).result();
  expect(systemOnly.choices[0]?.message.content).toBe(asUser.text);
  expect(asUser.text.length).toBeGreaterThan(0);

  const consecutive = await openai.chat.completions.create({
    model: TEST_MODEL,
    messages: [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'developer', content: 'Answer briefly.' },
      { role: 'user', content: 'What is the capital of France?' },
      { role: 'user', content: 'Answer in one sentence.' },
    ],
    max_tokens: 16,
  });
  const merged = await (
    await px.submit({
      userId,
      model: TEST_MODEL,
      messages: [
        { role: 'system', content: 'You are a helpful assistant.\n\nAnswer briefly.' },
        { role: 'user', content: 'What is the capital of France?\n\nAnswer in one sentence.' },
      ],
      maxNewTokens: 16,
    })
  ).result();
  expect(consecutive.choices[0]?.message.content).toBe(merged.text);
});

test('CORS: a browser preflight from an allowed origin passes without a key; answers expose the headers clients read', async () => {
  const preflight = await fetch(`${baseURL}/chat/completions`, {
    method: 'OPTIONS',
    headers: {
      origin: APP_ORIGIN,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type, idempotency-key, x-stainless-os',
    },
  });
  expect(preflight.status).toBe(204);
  expect(preflight.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
  expect(preflight.headers.get('access-control-allow-methods')).toMatch(/POST/);
  expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toMatch(/authorization/);

  const { key } = await customer(100_000);
  const answered = await post(key, JSON.stringify({ model: TEST_MODEL, messages, max_tokens: 4 }), { origin: APP_ORIGIN });
  expect(answered.status).toBe(200);
  expect(answered.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
  expect(answered.headers.get('access-control-expose-headers')).toMatch(/x-request-id/);
  // A refusal is readable by the page too.
  const unauthorised = await post(null, JSON.stringify({ model: TEST_MODEL, messages }), { origin: APP_ORIGIN });
  expect(unauthorised.status).toBe(401);
  expect(unauthorised.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);

  const foreign = await fetch(`${baseURL}/models`, { headers: { origin: 'http://evil.example', authorization: `Bearer ${key}` } });
  expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
});

test('rate limit per key, shared by two gateway processes: 429 rate_limit_exceeded with x-ratelimit-* and retry-after', async () => {
  const { key } = await customer(1_000_000);
  const port = await getFreePort();
  const cli = spawnCli(['gateway', '--port', String(port)], {
    ...network.cliEnv(),
    PARALLELIX_GATEWAY_RATE_LIMIT_RPM: '3',
    PARALLELIX_LOG_LEVEL: 'warn',
  });
  const limited = createGateway({ sdk: px, db: network.db, logger: createLogger('gateway-test-limited'), requestsPerMinute: 3 });
  try {
    await cli.waitFor('gateway listening');
    const urls = [`http://127.0.0.1:${port}/v1`, await listen(limited)];
    const body = JSON.stringify({ model: TEST_MODEL, messages, max_tokens: 4 });
    const answers: Answer[] = [];
    for (let i = 0; i < 4; i += 1) answers.push(await post(key, body, {}, `${urls[i % 2]!}/chat/completions`));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429]);
    expect(answers.map((a) => a.headers.get('x-ratelimit-remaining-requests'))).toEqual(['2', '1', '0', '0']);
    expect(answers[0]?.headers.get('x-ratelimit-limit-requests')).toBe('3');
    const refused = answers[3]!;
    expect(refused.json.error).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // The openai client surfaces it as RateLimitError (and, unlike a 402, would retry it after retry-after).
    const openai = new OpenAI({ apiKey: key, baseURL: urls[0], maxRetries: 0 });
    await expect(openai.chat.completions.create({ model: TEST_MODEL, messages, max_tokens: 4 })).rejects.toBeInstanceOf(RateLimitError);
    // GETs are not counted.
    expect((await fetch(`${urls[1]!}/models`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
  } finally {
    cli.child.kill('SIGTERM');
    await cli.exited;
    await limited.close();
  }
});
