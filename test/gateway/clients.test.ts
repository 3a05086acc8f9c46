/**
 * The gateway driven by the clients people already use, unchanged: the Vercel AI SDK (default Responses provider
 * and `.chat()`), LangChain's ChatOpenAI, and the openai client's Responses API. Real network, real operator.
 */
import { createOpenAI } from '@ai-sdk/openai';
import { ChatOpenAI } from '@langchain/openai';
import { APICallError, generateText, streamText } from 'ai';
import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { z } from 'zod';
import { getBalance } from '../../src/db/credits.js';
import { createApiKey } from '../../src/gateway/api-keys.js';
import type { ParallelixClient } from '../../src/sdk/index.js';
import { countingFetch, startGatewayNetwork, type GatewayNetwork } from '../helpers/gateway.js';
import { TEST_MODEL, type TestNetwork } from '../helpers/network.js';
import { FRANCE_32_TEXT, FRANCE_MESSAGES } from '../fixtures/reference-prompt.js';

const SYSTEM = FRANCE_MESSAGES[0]!.content;
const PROMPT = FRANCE_MESSAGES[1]!.content;

let network: TestNetwork;
let px: ParallelixClient;
let baseURL: string;
let stack: GatewayNetwork;

beforeAll(async () => {
  stack = await startGatewayNetwork();
  ({ network, px, baseURL } = stack);
}, 240_000);

afterAll(async () => {
  await stack?.stop();
});

async function customer(credits: number): Promise<{ userId: string; apiKey: string; fetch: typeof fetch; calls: () => number }> {
  const userId = `user-${randomUUID()}`;
  const { key } = await createApiKey(network.db, userId, 'test');
  if (credits > 0) await network.fund(userId, credits);
  const counted = countingFetch();
  return { userId, apiKey: key, fetch: counted.fetch, calls: counted.calls };
}

const captures = (userId: string) => network.db.creditLedgerEntry.count({ where: { user: { externalId: userId }, kind: 'CAPTURE' } });

describe('openai client, Responses API', () => {
  test('responses.create: output_text, usage, incomplete at max_output_tokens, request ids', async () => {
    const { userId, apiKey } = await customer(100_000);
    const openai = new OpenAI({ apiKey, baseURL, maxRetries: 0 });
    const { data: response, request_id } = await openai.responses.create({ model: TEST_MODEL, instructions: SYSTEM, input: PROMPT, max_output_tokens: 32 }).withResponse();
    expect(response.output_text).toBe(FRANCE_32_TEXT);
    expect(response).toMatchObject({ object: 'response', status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, model: TEST_MODEL });
    expect(response.usage).toMatchObject({ output_tokens: 32, total_tokens: (response.usage?.input_tokens ?? 0) + 32 });
    expect(response.id).toMatch(/^resp_[0-9a-f]{32}$/);
    expect(request_id).toMatch(/^req_/);
    // A message-list input is the same conversation.
    const listed = await openai.responses.create({
      model: TEST_MODEL,
      input: [
        { role: 'system', content: SYSTEM },
        { role: 'user', content: [{ type: 'input_text', text: PROMPT }] },
      ],
      max_output_tokens: 32,
    });
    expect(listed.output_text).toBe(FRANCE_32_TEXT);
    expect(await captures(userId)).toBe(2);
  });

  test('streaming: the Responses event sequence, deltas concatenating to the text, sequence numbers in order', async () => {
    const { apiKey } = await customer(100_000);
    const openai = new OpenAI({ apiKey, baseURL, maxRetries: 0 });
    const stream = await openai.responses.create({ model: TEST_MODEL, instructions: SYSTEM, input: PROMPT, max_output_tokens: 32, stream: true });
    const events = [];
    for await (const event of stream) events.push(event);
    const types = events.map((e) => e.type);
    expect(types.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
    expect(types.slice(-4)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.incomplete']);
    const deltas = events.flatMap((e) => (e.type === 'response.output_text.delta' ? [e.delta] : []));
    expect(deltas.length).toBeGreaterThanOrEqual(20);
    expect(deltas.join('')).toBe(FRANCE_32_TEXT);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const done = events.at(-1);
    const final = done?.type === 'response.incomplete' ? done.response : undefined;
    expect(final?.output[0]).toMatchObject({ type: 'message', status: 'incomplete', content: [{ type: 'output_text', text: FRANCE_32_TEXT }] });
    expect(final?.usage?.output_tokens).toBe(32);
  });

  test('refusals carry the Responses API names: 404 model, 400 max_output_tokens, 400 previous_response_id', async () => {
    const { apiKey } = await customer(100_000);
    const openai = new OpenAI({ apiKey, baseURL, maxRetries: 0 });
    await expect(openai.responses.create({ model: 'no-such-model', input: 'hi' })).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    await expect(openai.responses.create({ model: TEST_MODEL, input: 'hi', max_output_tokens: 1000 })).rejects.toMatchObject({
      status: 400,
      param: 'max_output_tokens',
      message: expect.stringMatching(/at most 256/),
    });
    await expect(openai.responses.create({ model: TEST_MODEL, input: 'hi', previous_response_id: 'resp_123' })).rejects.toMatchObject({
      status: 400,
      param: 'previous_response_id',
    });
  });
});

describe('Vercel AI SDK', () => {
  test('default provider (Responses API): generateText and streamText give the text, usage and finish reason', async () => {
    const { userId, apiKey } = await customer(100_000);
    const openai = createOpenAI({ apiKey, baseURL });
    const generated = await generateText({ model: openai(TEST_MODEL), system: SYSTEM, prompt: PROMPT, maxOutputTokens: 32 });
    expect(generated.text).toBe(FRANCE_32_TEXT);
    expect(generated.finishReason).toBe('length');
    expect(generated.usage).toMatchObject({ outputTokens: 32 });
    expect(generated.usage.inputTokens).toBeGreaterThan(0);

    const streamed = streamText({ model: openai(TEST_MODEL), system: SYSTEM, prompt: PROMPT, maxOutputTokens: 32 });
    const parts: string[] = [];
    for await (const part of streamed.textStream) parts.push(part);
    expect(parts.join('')).toBe(FRANCE_32_TEXT);
    expect(parts.length).toBeGreaterThanOrEqual(20);
    expect(await streamed.finishReason).toBe('length');
    expect((await streamed.usage).outputTokens).toBe(32);
    expect(await captures(userId)).toBe(2);
  });

  test('.chat() (Chat Completions): generateText and streamText with usage', async () => {
    const { apiKey } = await customer(100_000);
    const openai = createOpenAI({ apiKey, baseURL });
    const generated = await generateText({ model: openai.chat(TEST_MODEL), system: SYSTEM, prompt: PROMPT, maxOutputTokens: 32 });
    expect(generated.text).toBe(FRANCE_32_TEXT);
    expect(generated.usage).toMatchObject({ outputTokens: 32 });
    const streamed = streamText({ model: openai.chat(TEST_MODEL), system: SYSTEM, prompt: PROMPT, maxOutputTokens: 32 });
    let text = '';
    for await (const part of streamed.textStream) text += part;
    expect(text).toBe(FRANCE_32_TEXT);
    expect((await streamed.usage).outputTokens).toBe(32);
  });

  test('multi-turn with consecutive user messages and a system-only prompt are served', async () => {
    const { userId, apiKey } = await customer(1_000_000);
    const openai = createOpenAI({ apiKey, baseURL });
    const consecutive = await generateText({
      model: openai(TEST_MODEL),
      messages: [
        { role: 'system', content: SYSTEM },
        { role: 'user', content: 'What is the capital of France?' },
        { role: 'user', content: 'Answer in one sentence.' },
      ],
      allowSystemInMessages: true,
      maxOutputTokens: 8,
    });
    const merged = [SYSTEM, 'What is the capital of France?\n\nAnswer in one sentence.'];
    const viaSdk = await (
      await px.submit({ userId, model: TEST_MODEL, messages: [{ role: 'system', content: merged[0]! }, { role: 'user', content: merged[1]! }], maxNewTokens: 8 })
    ).result();
    expect(consecutive.text).toBe(viaSdk.text);
    const systemOnly = await generateText({ model: openai.chat(TEST_MODEL), messages: [{ role: 'system', content: 'Write a haiku.' }], allowSystemInMessages: true, maxOutputTokens: 8 });
    expect(systemOnly.text.length).toBeGreaterThan(0);
  });

  test('refusals surface as APICallError with the status, not retried: 404, 400 max tokens, 402', async () => {
    const poor = await customer(5);
    const rich = await customer(100_000);
    const call = async (who: typeof poor, model: string, maxOutputTokens: number, chat = false): Promise<APICallError> => {
      const openai = createOpenAI({ apiKey: who.apiKey, baseURL, fetch: who.fetch });
      const error = await generateText({ model: chat ? openai.chat(model) : openai(model), prompt: PROMPT, maxOutputTokens }).catch((e: unknown) => e);
      if (!APICallError.isInstance(error)) throw new Error(`expected an APICallError, got ${String(error)}`);
      return error;
    };
    const notFound = await call(rich, 'no-such-model', 8);
    expect(notFound).toMatchObject({ statusCode: 404, isRetryable: false });
    expect(notFound.responseBody).toMatch(/model_not_found/);
    const tooLong = await call(rich, TEST_MODEL, 5000, true);
    expect(tooLong).toMatchObject({ statusCode: 400, isRetryable: false });
    expect(tooLong.message).toMatch(/at most 256/);
    const broke = await call(poor, TEST_MODEL, 32);
    expect(broke).toMatchObject({ statusCode: 402, isRetryable: false });
    // Default maxRetries is 2: each refusal took one HTTP request.
    expect(rich.calls()).toBe(2);
    expect(poor.calls()).toBe(1);
    expect(await getBalance(network.db, poor.userId)).toEqual({ balance: 5n, held: 0n });
  });
});

describe('LangChain ChatOpenAI', () => {
  test('invoke and stream: text, usage metadata, finish reason and fingerprint', async () => {
    const { apiKey } = await customer(100_000);
    const chat = new ChatOpenAI({ model: TEST_MODEL, apiKey, configuration: { baseURL }, maxTokens: 32 });
    const answer = await chat.invoke([
      ['system', SYSTEM],
      ['human', PROMPT],
    ]);
    expect(answer.content).toBe(FRANCE_32_TEXT);
    expect(answer.usage_metadata).toMatchObject({ output_tokens: 32 });
    expect(answer.response_metadata).toMatchObject({ finish_reason: 'length', system_fingerprint: expect.stringMatching(/^fp_/) });

    let text = '';
    let chunks = 0;
    let usage: unknown;
    for await (const chunk of await chat.stream([
      ['system', SYSTEM],
      ['human', PROMPT],
    ])) {
      text += typeof chunk.content === 'string' ? chunk.content : '';
      chunks += 1;
      usage = chunk.usage_metadata ?? usage;
    }
    expect(text).toBe(FRANCE_32_TEXT);
    expect(chunks).toBeGreaterThanOrEqual(20);
    expect(usage).toMatchObject({ output_tokens: 32 });
  });

  test('withStructuredOutput is refused with a clear 400 instead of parsing gibberish; an unknown model (404) and no credits (402) are not retried', async () => {
    const { apiKey, fetch, calls } = await customer(100_000);
    const chat = new ChatOpenAI({ model: TEST_MODEL, apiKey, configuration: { baseURL, fetch }, maxTokens: 16 });
    const structured = chat.withStructuredOutput(z.object({ city: z.string() }));
    const refused = await structured.invoke(PROMPT).catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 400, message: expect.stringMatching(/response_format|not supported/) });
    const unknown = new ChatOpenAI({ model: 'no-such-model', apiKey, configuration: { baseURL, fetch }, maxTokens: 16 });
    await expect(unknown.invoke(PROMPT)).rejects.toMatchObject({ status: 404 });
    expect(calls()).toBe(2);
    const poor = await customer(5);
    const broke = new ChatOpenAI({ model: TEST_MODEL, apiKey: poor.apiKey, configuration: { baseURL, fetch: poor.fetch }, maxTokens: 32 });
    await expect(broke.invoke(PROMPT)).rejects.toMatchObject({ status: 402, code: 'insufficient_quota' });
    expect(poor.calls()).toBe(1);
  });
});
