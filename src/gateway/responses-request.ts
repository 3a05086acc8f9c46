import { z } from 'zod';
import type { ChatMessage } from '../protocol/inference.js';
import { MAX_MESSAGE_CHARS, MAX_MESSAGES } from '../protocol/inference-input.js';
import {
  ignoredTemperature,
  ignoredTopP,
  invalidParam,
  maxTokensField,
  parseBody,
  refusedUnlessEmpty,
  refusedUnlessNull,
  toolChoiceWithoutTools,
} from './request-params.js';

const TEXT_PART_TYPES = new Set(['input_text', 'output_text', 'text']);

const contentPart = z
  .object({ type: z.string(), text: z.string().optional() })
  .refine((part) => TEXT_PART_TYPES.has(part.type) && typeof part.text === 'string', {
    message: 'only text content parts (input_text, output_text) are supported',
  });

const messageItem = z.object({
  type: z.literal('message').optional(),
  role: z.enum(['system', 'developer', 'user', 'assistant'], { error: 'role must be system, developer, user or assistant' }),
  content: z.union([z.string(), z.array(contentPart)]),
});

/** An input item: only messages. Other item types need state this gateway does not keep (tools, stored items). */
const inputItem = z
  .object({ type: z.string().optional() })
  .passthrough()
  .refine((item) => item.type === undefined || item.type === 'message', {
    message: 'only message input items are supported (no tool calls, and no item_reference: this gateway stores no responses)',
  })
  .pipe(messageItem);

/**
 * OpenAI's Responses API request (`POST /v1/responses`) as this gateway serves it: text in, text out. Nothing is
 * stored (`store` is ignored; `previous_response_id` and `conversation` are refused). Unknown fields are ignored.
 */
export const responsesRequestSchema = z.object({
  model: z.string().min(1).max(200),
  input: z.union([z.string(), z.array(inputItem).min(1).max(MAX_MESSAGES)]),
  instructions: z.string().nullish(),
  max_output_tokens: maxTokensField,
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_obfuscation: z.boolean().optional() }).nullish(),
  temperature: ignoredTemperature,
  top_p: ignoredTopP,
  text: z
    .object({ format: z.object({ type: z.string() }).nullish(), verbosity: z.string().nullish() })
    .nullish()
    .refine((text) => !text?.format || text.format.type === 'text', { message: 'text.format other than {"type":"text"} is not supported by this gateway' })
    .refine((text) => !text?.verbosity || text.verbosity === 'medium', { message: 'text.verbosity other than "medium" is not supported by this gateway' }),
  tools: refusedUnlessEmpty('tools'),
  tool_choice: toolChoiceWithoutTools,
  parallel_tool_calls: z.boolean().nullish(),
  max_tool_calls: z.number().int().nullish(),
  previous_response_id: refusedUnlessNull('previous_response_id (this gateway stores no responses)'),
  conversation: refusedUnlessNull('conversation (this gateway stores no conversations)'),
  prompt: refusedUnlessNull('prompt (stored prompt templates)'),
  reasoning: refusedUnlessEmpty('reasoning'),
  include: refusedUnlessEmpty('include'),
  background: z.boolean().nullish().refine((v) => !v, { message: 'background is not supported by this gateway' }),
  top_logprobs: z.number().int().nullish().refine((v) => !v, { message: 'top_logprobs is not supported by this gateway' }),
  truncation: z.enum(['auto', 'disabled']).nullish(),
  store: z.boolean().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  user: z.string().nullish(),
});

export interface ParsedResponsesRequest {
  model: string;
  messages: ChatMessage[];
  instructions: string | null;
  maxTokens: number | null;
  stream: boolean;
  metadata: Record<string, string>;
}

/** Validates a Responses API body into a conversation: `instructions` first (as system), then `input`. */
export function parseResponsesRequest(body: unknown): ParsedResponsesRequest {
  const data = parseBody(responsesRequestSchema, body);
  const messages: ChatMessage[] = [];
  if (data.instructions) messages.push({ role: 'system', content: data.instructions });
  if (typeof data.input === 'string') {
    messages.push({ role: 'user', content: data.input });
  } else {
    for (const item of data.input) {
      const content = typeof item.content === 'string' ? item.content : item.content.map((part) => part.text ?? '').join('');
      messages.push({ role: item.role === 'developer' ? 'system' : item.role, content });
    }
  }
  for (const [i, message] of messages.entries()) {
    if (message.content.length > MAX_MESSAGE_CHARS) throw invalidParam('input', `message ${i} is longer than ${MAX_MESSAGE_CHARS} characters`);
  }
  if (messages.length > MAX_MESSAGES) throw invalidParam('input', `at most ${MAX_MESSAGES} messages (instructions included)`);
  return {
    model: data.model,
    messages,
    instructions: data.instructions ?? null,
    maxTokens: data.max_output_tokens ?? null,
    stream: data.stream === true,
    metadata: data.metadata ?? {},
  };
}
