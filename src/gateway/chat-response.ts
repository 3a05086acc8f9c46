import type { SubmitResult, VerdictName } from '../sdk/index.js';

/** ParalleliX facts about the request, added to OpenAI's response objects as `parallelix`. */
export interface ParallelixExtras {
  requestId: string;
  nodeId: string;
  poe: string;
  anchorTx: string;
  anchorBlock: number;
  verdict: VerdictName;
  creditsCharged: number;
}

export interface OpenAiUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export type FinishReason = 'stop' | 'length';

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  system_fingerprint: string;
  choices: Array<{
    index: 0;
    message: { role: 'assistant'; content: string; refusal: null };
    logprobs: null;
    finish_reason: FinishReason;
  }>;
  usage: OpenAiUsage;
  parallelix: ParallelixExtras;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  system_fingerprint: string;
  choices: Array<{
    index: 0;
    delta: { role?: 'assistant'; content?: string };
    logprobs: null;
    finish_reason: FinishReason | null;
  }>;
  /** Present (null until the last chunk) only when the client asked for usage. */
  usage?: OpenAiUsage | null;
  parallelix?: ParallelixExtras;
}

/** What every chunk of one stream repeats. */
export interface ChunkBase {
  id: string;
  created: number;
  model: string;
  system_fingerprint: string;
  includeUsage: boolean;
}

export const completionId = (requestId: string): string => `chatcmpl-${requestId}`;
export const unixSeconds = (): number => Math.floor(Date.now() / 1000);

export function extrasOf(result: SubmitResult): ParallelixExtras {
  return {
    requestId: result.requestId,
    nodeId: result.nodeId,
    poe: result.poe,
    anchorTx: result.anchorTx,
    anchorBlock: result.anchorBlock,
    verdict: result.verdict,
    creditsCharged: result.creditsCharged,
  };
}

export function usageOf(result: SubmitResult): OpenAiUsage {
  const { inputTokens, outputTokens } = result.usage;
  return { prompt_tokens: inputTokens, completion_tokens: outputTokens, total_tokens: inputTokens + outputTokens };
}

export function chatCompletion(result: SubmitResult, model: string, fingerprint: string, finishReason: FinishReason): ChatCompletion {
  return {
    id: completionId(result.requestId),
    object: 'chat.completion',
    created: unixSeconds(),
    model,
    system_fingerprint: fingerprint,
    choices: [{ index: 0, message: { role: 'assistant', content: result.text, refusal: null }, logprobs: null, finish_reason: finishReason }],
    usage: usageOf(result),
    parallelix: extrasOf(result),
  };
}

/** A chunk carrying `delta` (or, with `finishReason`, the last choice chunk); `usage: null` when usage comes last. */
export function chunk(base: ChunkBase, delta: ChatCompletionChunk['choices'][number]['delta'], finishReason: FinishReason | null = null): ChatCompletionChunk {
  const { includeUsage, ...fields } = base;
  return {
    ...fields,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(includeUsage ? { usage: null } : {}),
  };
}

/** The usage chunk that ends a stream when the client asked for it: no choices. */
export function usageChunk(base: ChunkBase, result: SubmitResult): ChatCompletionChunk {
  const { includeUsage: _, ...fields } = base;
  return { ...fields, object: 'chat.completion.chunk', choices: [], usage: usageOf(result) };
}

/** One server-sent event (with an `event:` line when named, as the Responses API sends them). */
export function sseData(payload: unknown, event?: string): string {
  const data = `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`;
  return event ? `event: ${event}\n${data}` : data;
}
