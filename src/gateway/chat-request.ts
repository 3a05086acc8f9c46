import { z } from 'zod';
import type { ChatMessage } from '../protocol/inference.js';
import { MAX_MESSAGE_CHARS, MAX_MESSAGES, MAX_NEW_TOKENS } from '../protocol/inference-input.js';
import { GatewayHttpError } from './errors.js';

const textPart = z.object({ type: z.literal('text'), text: z.string() });

const messageSchema = z.object({
  // `developer` is OpenAI's newer name for `system`. Tool and function messages are not supported.
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content: z.union([z.string(), z.array(textPart).min(1)]),
  name: z.string().optional(),
});

const notSupported = (what: string) => ({ message: `${what} is not supported by this gateway` });
const emptyOrAbsent = (value: unknown): boolean => value === undefined || value === null || (Array.isArray(value) && value.length === 0);

/**
 * The accepted subset of OpenAI's chat completion request. Unknown fields are ignored, as are `user` and the
 * sampling parameters (`temperature`, `top_p`, penalties, `seed`): every request is decoded greedily because the
 * network verifies results by re-executing them, which needs deterministic output. Fields that would change the
 * shape or meaning of the answer and cannot be honoured (`n` > 1, tools, stop sequences, logprobs) are rejected.
 */
export const chatCompletionRequestSchema = z
  .object({
    model: z.string().min(1).max(200),
    messages: z.array(messageSchema).min(1).max(MAX_MESSAGES),
    max_tokens: z.number().int().positive().max(MAX_NEW_TOKENS).nullish(),
    max_completion_tokens: z.number().int().positive().max(MAX_NEW_TOKENS).nullish(),
    stream: z.boolean().nullish(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    top_p: z.number().min(0).max(1).nullish(),
    n: z.number().int().nullish().refine((n) => n === undefined || n === null || n === 1, notSupported('n other than 1')),
    tools: z.unknown().optional().refine(emptyOrAbsent, notSupported('tools')),
    functions: z.unknown().optional().refine(emptyOrAbsent, notSupported('functions')),
    stop: z.unknown().optional().refine(emptyOrAbsent, notSupported('stop')),
    logprobs: z.boolean().nullish().refine((v) => !v, notSupported('logprobs')),
    user: z.string().nullish(),
  })
  .refine((body) => !(body.max_tokens && body.max_completion_tokens && body.max_tokens !== body.max_completion_tokens), {
    message: 'max_tokens and max_completion_tokens differ; send one of them',
    path: ['max_tokens'],
  });

export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;

export interface ParsedChatRequest {
  model: string;
  messages: ChatMessage[];
  maxNewTokens: number;
  stream: boolean;
  includeUsage: boolean;
}

/** `messages.0.role` → `messages[0].role`, as OpenAI names params. */
function paramName(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((name, key) => (typeof key === 'number' ? `${name}[${key}]` : name ? `${name}.${String(key)}` : String(key)), '');
}

/** Validates a request body; a GatewayHttpError 400 names the first offending field. */
export function parseChatRequest(body: unknown, defaultMaxTokens: number): ParsedChatRequest {
  const parsed = chatCompletionRequestSchema.safeParse(body ?? undefined);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    const first = issues[0];
    const param = first && first.path.length > 0 ? paramName(first.path) : null;
    const message = issues.map((issue) => `${issue.path.length ? paramName(issue.path) : 'body'}: ${issue.message}`).join('; ');
    throw new GatewayHttpError(400, `Invalid request: ${message}`, { type: 'invalid_request_error', code: 'invalid_request', param });
  }
  const data = parsed.data;
  const messages = data.messages.map((m, i): ChatMessage => {
    const content = typeof m.content === 'string' ? m.content : m.content.map((part) => part.text).join('');
    if (content.length > MAX_MESSAGE_CHARS) {
      throw new GatewayHttpError(400, `Invalid request: messages[${i}].content is longer than ${MAX_MESSAGE_CHARS} characters`, {
        type: 'invalid_request_error',
        code: 'invalid_request',
        param: `messages[${i}].content`,
      });
    }
    return { role: m.role === 'developer' ? 'system' : m.role, content };
  });
  return {
    model: data.model,
    messages,
    maxNewTokens: data.max_completion_tokens ?? data.max_tokens ?? defaultMaxTokens,
    stream: data.stream === true,
    includeUsage: data.stream_options?.include_usage === true,
  };
}
