import { z } from 'zod';
import type { ChatMessage } from '../protocol/inference.js';
import { MAX_MESSAGE_CHARS, MAX_MESSAGES } from '../protocol/inference-input.js';
import {
  ignoredSeed,
  ignoredTemperature,
  ignoredTopP,
  invalidParam,
  maxTokensField,
  parseBody,
  refusedUnlessEmpty,
  refusedUnlessNull,
  toolChoiceWithoutTools,
  zeroOnly,
} from './request-params.js';

/** A content part: only text can reach a text-only model. */
export const textPart = z
  .object({ type: z.string(), text: z.string().optional() })
  .refine((part) => part.type === 'text' && typeof part.text === 'string', { message: 'only text content parts are supported' });

const messageSchema = z.object({
  // `developer` is OpenAI's newer name for `system`.
  role: z.enum(['system', 'developer', 'user', 'assistant'], {
    error: 'role must be system, developer, user or assistant (tool and function messages are not supported)',
  }),
  content: z.union([z.string(), z.array(textPart).min(1)]),
  name: z.string().optional(),
  tool_calls: refusedUnlessEmpty('tool_calls'),
  function_call: refusedUnlessNull('function_call'),
});

/**
 * OpenAI's chat completion request as this gateway serves it; the README's parameter table says the same per
 * field. Unknown fields are ignored.
 */
export const chatCompletionRequestSchema = z
  .object({
    model: z.string().min(1).max(200),
    messages: z.array(messageSchema).min(1).max(MAX_MESSAGES),
    max_tokens: maxTokensField,
    max_completion_tokens: maxTokensField,
    stream: z.boolean().nullish(),
    stream_options: z.object({ include_usage: z.boolean().optional(), include_obfuscation: z.boolean().optional() }).nullish(),
    temperature: ignoredTemperature,
    top_p: ignoredTopP,
    seed: ignoredSeed,
    frequency_penalty: zeroOnly('frequency_penalty'),
    presence_penalty: zeroOnly('presence_penalty'),
    n: z
      .number()
      .int()
      .nullish()
      .refine((n) => n === undefined || n === null || n === 1, { message: 'n other than 1 is not supported by this gateway' }),
    response_format: z
      .object({ type: z.string() })
      .nullish()
      .refine((format) => !format || format.type === 'text', { message: 'response_format other than {"type":"text"} is not supported by this gateway' }),
    tools: refusedUnlessEmpty('tools'),
    tool_choice: toolChoiceWithoutTools,
    functions: refusedUnlessEmpty('functions'),
    function_call: z
      .unknown()
      .optional()
      .refine((v) => v === undefined || v === null || v === 'none' || v === 'auto', { message: 'function_call is not supported by this gateway' }),
    stop: refusedUnlessEmpty('stop'),
    logit_bias: refusedUnlessEmpty('logit_bias'),
    logprobs: z.boolean().nullish().refine((v) => !v, { message: 'logprobs is not supported by this gateway' }),
    top_logprobs: z.number().int().nullish().refine((v) => !v, { message: 'top_logprobs is not supported by this gateway' }),
    modalities: z
      .array(z.string())
      .nullish()
      .refine((m) => !m || m.every((x) => x === 'text'), { message: 'modalities other than ["text"] are not supported by this gateway' }),
    audio: refusedUnlessNull('audio'),
    prediction: refusedUnlessNull('prediction'),
    web_search_options: refusedUnlessNull('web_search_options'),
    reasoning_effort: refusedUnlessNull('reasoning_effort'),
    verbosity: refusedUnlessNull('verbosity'),
    user: z.string().nullish(),
  })
  .refine((body) => !(body.max_tokens && body.max_completion_tokens && body.max_tokens !== body.max_completion_tokens), {
    message: 'max_tokens and max_completion_tokens differ; send one of them',
    path: ['max_tokens'],
  });

export interface ParsedChatRequest {
  model: string;
  messages: ChatMessage[];
  /** null: the client named no limit (the gateway's default applies). */
  maxTokens: number | null;
  /** Which field named it, for error messages. */
  maxTokensParam: 'max_tokens' | 'max_completion_tokens';
  stream: boolean;
  includeUsage: boolean;
}

/** Validates a chat completion body; a GatewayHttpError 400 names the first offending field. */
export function parseChatRequest(body: unknown): ParsedChatRequest {
  const data = parseBody(chatCompletionRequestSchema, body);
  const messages = data.messages.map((m, i): ChatMessage => {
    const content = typeof m.content === 'string' ? m.content : m.content.map((part) => part.text ?? '').join('');
    if (content.length > MAX_MESSAGE_CHARS) throw invalidParam(`messages[${i}].content`, `messages[${i}].content is longer than ${MAX_MESSAGE_CHARS} characters`);
    return { role: m.role === 'developer' ? 'system' : m.role, content };
  });
  return {
    model: data.model,
    messages,
    maxTokens: data.max_completion_tokens ?? data.max_tokens ?? null,
    maxTokensParam: data.max_completion_tokens ? 'max_completion_tokens' : 'max_tokens',
    stream: data.stream === true,
    includeUsage: data.stream_options?.include_usage === true,
  };
}
