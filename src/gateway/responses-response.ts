import type { SubmitResult } from '../sdk/index.js';
import { extrasOf, unixSeconds, type FinishReason, type ParallelixExtras } from './chat-response.js';
import type { ParsedResponsesRequest } from './responses-request.js';

export interface ResponsesUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export interface OutputText {
  type: 'output_text';
  text: string;
  annotations: [];
  logprobs: [];
}

export interface OutputMessage {
  type: 'message';
  id: string;
  status: 'in_progress' | 'completed' | 'incomplete';
  role: 'assistant';
  content: OutputText[];
}

/** OpenAI's Response object, text only. */
export interface ResponseObject {
  id: string;
  object: 'response';
  created_at: number;
  status: 'in_progress' | 'completed' | 'incomplete';
  error: null;
  incomplete_details: { reason: 'max_output_tokens' } | null;
  instructions: string | null;
  max_output_tokens: number;
  model: string;
  output: OutputMessage[];
  parallel_tool_calls: false;
  previous_response_id: null;
  reasoning: { effort: null; summary: null };
  store: false;
  temperature: null;
  text: { format: { type: 'text' } };
  tool_choice: 'none';
  tools: [];
  top_p: null;
  truncation: 'disabled';
  usage: ResponsesUsage | null;
  user: null;
  metadata: Record<string, string>;
  parallelix?: ParallelixExtras;
}

/** Ids of one response and its output message, derived from the ParalleliX request id. */
export interface ResponseIds {
  response: string;
  message: string;
}

export function responseIds(requestId: string): ResponseIds {
  const hex = requestId.replaceAll('-', '');
  return { response: `resp_${hex}`, message: `msg_${hex}` };
}

export const outputText = (text: string): OutputText => ({ type: 'output_text', text, annotations: [], logprobs: [] });

function usageOf(result: SubmitResult): ResponsesUsage {
  const { inputTokens, outputTokens } = result.usage;
  return {
    input_tokens: inputTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: inputTokens + outputTokens,
  };
}

export interface ResponseShell {
  ids: ResponseIds;
  createdAt: number;
  request: ParsedResponsesRequest;
  maxOutputTokens: number;
}

export function responseShell(requestId: string, request: ParsedResponsesRequest, maxOutputTokens: number): ResponseShell {
  return { ids: responseIds(requestId), createdAt: unixSeconds(), request, maxOutputTokens };
}

/** The response while it streams (no output yet) or, with the result, complete. */
export function responseObject(shell: ResponseShell, outcome?: { result: SubmitResult; finishReason: FinishReason }): ResponseObject {
  const status = !outcome ? 'in_progress' : outcome.finishReason === 'length' ? 'incomplete' : 'completed';
  return {
    id: shell.ids.response,
    object: 'response',
    created_at: shell.createdAt,
    status,
    error: null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: shell.request.instructions,
    max_output_tokens: shell.maxOutputTokens,
    model: shell.request.model,
    output: outcome ? [outputMessage(shell.ids, outcome.result.text, status === 'incomplete' ? 'incomplete' : 'completed')] : [],
    parallel_tool_calls: false,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: false,
    temperature: null,
    text: { format: { type: 'text' } },
    tool_choice: 'none',
    tools: [],
    top_p: null,
    truncation: 'disabled',
    usage: outcome ? usageOf(outcome.result) : null,
    user: null,
    metadata: shell.request.metadata,
    ...(outcome ? { parallelix: extrasOf(outcome.result) } : {}),
  };
}

export function outputMessage(ids: ResponseIds, text: string | null, status: OutputMessage['status']): OutputMessage {
  return { type: 'message', id: ids.message, status, role: 'assistant', content: text === null ? [] : [outputText(text)] };
}
