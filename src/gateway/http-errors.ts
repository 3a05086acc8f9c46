import {
  ContextLengthExceededError,
  IdempotencyKeyReusedError,
  InsufficientCreditsError,
  InvalidInputError,
  NoCapableNodeError,
  RequestCancelledError,
  RequestFailedError,
} from '../sdk/index.js';
import { GatewayHttpError } from './errors.js';

/** The body of every error answer, as OpenAI's clients expect it. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function errorBody(error: GatewayHttpError): OpenAiErrorBody {
  return { error: { message: error.message, type: error.type, param: error.param, code: error.code } };
}

/** How the API being answered names the request's fields (chat: `messages`, `max_tokens`; responses: `input`, `max_output_tokens`). */
export interface ParamNames {
  messages: string;
  maxTokens: string;
}

export const CHAT_PARAMS: ParamNames = { messages: 'messages', maxTokens: 'max_tokens' };

const FRAMEWORK_CODES: Record<number, string> = { 413: 'request_too_large', 415: 'unsupported_media_type' };

function frameworkStatus(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

function contextLengthError(error: ContextLengthExceededError, params: ParamNames): GatewayHttpError {
  const limits = error.limits;
  const message = limits
    ? `This model's maximum context length is ${limits.maxContextTokens} tokens. However, you requested ${limits.inputTokens + limits.maxNewTokens} tokens ` +
      `(${limits.inputTokens} in the ${params.messages}, ${limits.maxNewTokens} in the completion). Please reduce the length of the ${params.messages} or completion.`
    : `The ${params.messages} and ${params.maxTokens} together exceed the model's context length. Please reduce the length of the ${params.messages} or completion.`;
  return new GatewayHttpError(400, message, { type: 'invalid_request_error', code: 'context_length_exceeded', param: params.messages });
}

const SDK_FIELD_PARAMS: Record<string, keyof ParamNames | 'model'> = { messages: 'messages', maxNewTokens: 'maxTokens', model: 'model' };

/**
 * Maps anything a handler threw to the HTTP error answered. Only messages written for callers pass through
 * (typed errors, the framework's 4xx); anything else becomes a bare 500 so no internals leak. 5xx means a fault on
 * our side that a retry may fix; every refusal of the request itself is 4xx, so clients do not retry it.
 */
export function toGatewayError(error: unknown, params: ParamNames = CHAT_PARAMS): GatewayHttpError {
  if (error instanceof GatewayHttpError) return error;
  if (error instanceof InsufficientCreditsError) {
    // 402, not OpenAI's 429: every client retries 429 (a rate limit passes), but a balance does not top itself up.
    return new GatewayHttpError(402, `You exceeded your current credits: the balance cannot cover this request at ${params.maxTokens}. Top up or lower ${params.maxTokens}.`, {
      type: 'insufficient_quota',
      code: 'insufficient_quota',
    });
  }
  if (error instanceof NoCapableNodeError) {
    // The model was on offer when the request arrived (else 404): its nodes are busy, failing or just left.
    return new GatewayHttpError(503, 'No node serving this model can take the request right now; try again shortly.', {
      type: 'service_unavailable',
      code: 'no_capable_node',
      param: 'model',
    });
  }
  if (error instanceof IdempotencyKeyReusedError) {
    const named = error.fields.map((field) => {
      const key = SDK_FIELD_PARAMS[field];
      return key === undefined ? field : key === 'model' ? 'model' : params[key];
    });
    return new GatewayHttpError(422, `This Idempotency-Key was already used for a request with a different ${named.join(', ')}. Use a new key for a new request.`, {
      type: 'invalid_request_error',
      code: 'idempotency_key_reused',
      param: 'Idempotency-Key',
    });
  }
  if (error instanceof ContextLengthExceededError) return contextLengthError(error, params);
  if (error instanceof InvalidInputError) {
    return new GatewayHttpError(400, error.message, { type: 'invalid_request_error', code: 'invalid_request' });
  }
  if (error instanceof RequestCancelledError) {
    return new GatewayHttpError(500, 'The request was cancelled before it completed.', { type: 'server_error', code: 'request_cancelled' });
  }
  if (error instanceof RequestFailedError) {
    return new GatewayHttpError(500, 'The request could not be completed; no credits were charged for it.', {
      type: 'server_error',
      code: error.code.toLowerCase(),
    });
  }
  const status = frameworkStatus(error);
  if (status !== undefined && error instanceof Error) {
    return new GatewayHttpError(status, error.message, { type: 'invalid_request_error', code: FRAMEWORK_CODES[status] ?? 'invalid_request' });
  }
  return new GatewayHttpError(500, 'Internal error.', { type: 'server_error', code: 'internal_error' });
}
