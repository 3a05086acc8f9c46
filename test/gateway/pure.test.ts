import { GatewayHttpError } from '../../src/gateway/errors.js';
import { parseChatRequest } from '../../src/gateway/chat-request.js';
import { loadGatewaySettings } from '../../src/gateway/gateway-settings.js';
import { finishReasonOf } from '../../src/gateway/inference-call.js';
import { formatDuration } from '../../src/gateway/rate-limit.js';
import { parseResponsesRequest } from '../../src/gateway/responses-request.js';
import { textPieces } from '../../src/gateway/text-pieces.js';
import type { SubmitResult } from '../../src/sdk/index.js';
import { ConfigError } from '../../src/shared/errors.js';

const messages = [{ role: 'user', content: 'hi' }];

function refusal(run: () => unknown): GatewayHttpError {
  try {
    run();
  } catch (error) {
    if (error instanceof GatewayHttpError) return error;
    throw error;
  }
  throw new Error('not refused');
}

test('text pieces are token-sized, concatenate to the text and never split a code point', () => {
  const text = ' Southern abundjoint février   retr😀😀😀😀😀😀😀x самоupdated  \n';
  const pieces = textPieces(text);
  expect(pieces.join('')).toBe(text);
  expect(pieces.length).toBeGreaterThan(8);
  for (const piece of pieces) expect([...piece.trim()].length).toBeLessThanOrEqual(6);
  const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
  for (const piece of pieces) expect(loneSurrogate.test(piece)).toBe(false);
  expect(textPieces('')).toEqual([]);
});

test('finish_reason: stop below the limit whatever the node says; at the limit the node decides', () => {
  const result = (outputTokens: number, finishReason?: 'stop' | 'length') => ({ usage: { inputTokens: 1, outputTokens }, ...(finishReason ? { finishReason } : {}) }) as SubmitResult;
  expect(finishReasonOf(result(31, 'length'), 32)).toBe('stop');
  expect(finishReasonOf(result(32, 'stop'), 32)).toBe('stop'); // a natural end exactly at the limit
  expect(finishReasonOf(result(32, 'length'), 32)).toBe('length');
  expect(finishReasonOf(result(32), 32)).toBe('length'); // runs recorded before nodes reported it
});

test('chat: developer is system, text parts are joined, and refused parameters are named', () => {
  const parsed = parseChatRequest({
    model: 'm',
    messages: [{ role: 'developer', content: 'be brief' }, { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }],
    temperature: 0.7,
    seed: 3,
    response_format: { type: 'text' },
    tools: [],
    tool_choice: 'none',
    stream: true,
    stream_options: { include_usage: true },
  });
  expect(parsed).toMatchObject({ messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'ab' }], maxTokens: null, stream: true, includeUsage: true });
  expect(parseChatRequest({ model: 'm', messages, max_completion_tokens: 9 })).toMatchObject({ maxTokens: 9, maxTokensParam: 'max_completion_tokens' });

  const refusedParams: Array<[string, unknown]> = [
    ['response_format', { type: 'json_schema', json_schema: { name: 'x', schema: {} } }],
    ['response_format', { type: 'json_object' }],
    ['logit_bias', { '50256': -100 }],
    ['frequency_penalty', 0.5],
    ['presence_penalty', -1],
    ['stop', ['\n']],
    ['tools', [{ type: 'function', function: { name: 'f' } }]],
    ['tool_choice', 'required'],
    ['logprobs', true],
    ['top_logprobs', 2],
    ['n', 2],
    ['modalities', ['text', 'audio']],
    ['reasoning_effort', 'high'],
  ];
  for (const [param, value] of refusedParams) {
    const error = refusal(() => parseChatRequest({ model: 'm', messages, [param]: value }));
    expect({ param, status: error.status, named: error.param }).toEqual({ param, status: 400, named: param });
    expect(error.message).toMatch(/not supported/);
  }
  expect(refusal(() => parseChatRequest({ model: 'm', messages: [{ role: 'tool', content: 'x' }] }))).toMatchObject({ param: 'messages[0].role' });
  expect(refusal(() => parseChatRequest({ model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] })).message).toMatch(
    /only text content parts/,
  );
});

test('responses: instructions become the system message; string or message-list input', () => {
  expect(parseResponsesRequest({ model: 'm', input: 'hi', instructions: 'be brief', max_output_tokens: 16 })).toMatchObject({
    messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }],
    maxTokens: 16,
  });
  const listed = parseResponsesRequest({
    model: 'm',
    input: [
      { role: 'developer', content: 'sys' },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'q' }] },
      { role: 'assistant', content: [{ type: 'output_text', text: 'a' }] },
    ],
    store: true,
    text: { format: { type: 'text' } },
  });
  expect(listed.messages).toEqual([
    { role: 'system', content: 'sys' },
    { role: 'user', content: 'q' },
    { role: 'assistant', content: 'a' },
  ]);
  expect(refusal(() => parseResponsesRequest({ model: 'm', input: [{ type: 'item_reference', id: 'msg_1' }] })).message).toMatch(/stores no responses/);
  expect(refusal(() => parseResponsesRequest({ model: 'm', input: 'x', previous_response_id: 'resp_1' }))).toMatchObject({ param: 'previous_response_id' });
  expect(refusal(() => parseResponsesRequest({ model: 'm', input: 'x', text: { format: { type: 'json_schema' } } }))).toMatchObject({ param: 'text' });
  expect(refusal(() => parseResponsesRequest({ model: 'm', input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'x' }] }] })).message).toMatch(/only text/);
});

test('gateway settings: CORS origins and the rate limit from the environment, checked', () => {
  expect(loadGatewaySettings({}, {})).toMatchObject({ corsOrigins: undefined, requestsPerMinute: 600 });
  expect(loadGatewaySettings({}, { PARALLELIX_GATEWAY_CORS_ORIGINS: '*' }).corsOrigins).toBe('*');
  expect(loadGatewaySettings({}, { PARALLELIX_GATEWAY_CORS_ORIGINS: 'https://a.example, http://localhost:3000', PARALLELIX_GATEWAY_RATE_LIMIT_RPM: '0' })).toMatchObject({
    corsOrigins: ['https://a.example', 'http://localhost:3000'],
    requestsPerMinute: 0,
  });
  expect(() => loadGatewaySettings({}, { PARALLELIX_GATEWAY_CORS_ORIGINS: 'https://a.example/path' })).toThrow(ConfigError);
  expect(() => loadGatewaySettings({}, { PARALLELIX_GATEWAY_RATE_LIMIT_RPM: '-1' })).toThrow(ConfigError);
});

test('reset durations read as OpenAI writes them', () => {
  expect(formatDuration(350)).toBe('350ms');
  expect(formatDuration(1200)).toBe('2s');
  expect(formatDuration(360_000)).toBe('6m0s');
});
