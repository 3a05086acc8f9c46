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
  choices: Array<{
    index: 0;
    delta: { role?: 'assistant'; content?: string };
    logprobs: null;
    finish_reason: FinishReason | null;
  }>;
  usage?: OpenAiUsage | null;
  parallelix?: ParallelixExtras;
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

/** Generation stopped because it reached `max_tokens` ('length'), else on its own ('stop'). */
export function finishReasonOf(result: SubmitResult, maxNewTokens: number): FinishReason {
  return result.usage.outputTokens >= maxNewTokens ? 'length' : 'stop';
}

export function chatCompletion(result: SubmitResult, model: string, maxNewTokens: number): ChatCompletion {
  return {
    id: completionId(result.requestId),
    object: 'chat.completion',
    created: unixSeconds(),
    model,
    choices: [
      { index: 0, message: { role: 'assistant', content: result.text, refusal: null }, logprobs: null, finish_reason: finishReasonOf(result, maxNewTokens) },
    ],
    usage: usageOf(result),
    parallelix: extrasOf(result),
  };
}

/** A chunk carrying `delta` (or, with `finishReason`, the last choice chunk). */
export function chunk(
  base: { id: string; created: number; model: string },
  delta: ChatCompletionChunk['choices'][number]['delta'],
  finishReason: FinishReason | null = null,
): ChatCompletionChunk {
  return { ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] };
}

/** One server-sent event line pair. */
export const sseData = (payload: unknown): string => `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`;
