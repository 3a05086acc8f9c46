import { InsufficientCreditsError, InvalidInputError, NoCapableNodeError, RequestCancelledError, RequestFailedError } from '../sdk/index.js';
import { GatewayHttpError } from './errors.js';

/** The body of every error answer, as OpenAI's clients expect it. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function errorBody(error: GatewayHttpError): OpenAiErrorBody {
  return { error: { message: error.message, type: error.type, param: error.param, code: error.code } };
}

const FRAMEWORK_CODES: Record<number, string> = { 413: 'request_too_large', 415: 'unsupported_media_type' };

function frameworkStatus(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

/**
 * Maps anything a handler threw to the HTTP error answered. Only messages written for callers pass through
 * (typed errors, the framework's 4xx); anything else becomes a bare 500 so no internals leak.
 */
export function toGatewayError(error: unknown): GatewayHttpError {
  if (error instanceof GatewayHttpError) return error;
  if (error instanceof InsufficientCreditsError) {
    return new GatewayHttpError(402, 'Insufficient credits: the balance cannot cover this request at max_tokens. Top up or lower max_tokens.', {
      type: 'insufficient_quota',
      code: 'insufficient_credits',
    });
  }
  if (error instanceof NoCapableNodeError) {
    return new GatewayHttpError(503, `No node serving this model is available right now: ${error.message}`, {
      type: 'service_unavailable',
      code: 'no_capable_node',
      param: 'model',
    });
  }
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
