import { InvalidInputError, ParallelixError, type ParallelixErrorOptions } from '../shared/errors.js';

export { InvalidInputError } from '../shared/errors.js';

/** The prompt and maxNewTokens together do not fit the serving node's context window. Nothing was charged. */
export class ContextLengthExceededError extends InvalidInputError {
  override readonly code = 'PROMPT_TOO_LONG';
  constructor(
    message: string,
    /** The node's count, when it reported one. */
    readonly limits: { inputTokens: number; maxNewTokens: number; maxContextTokens: number } | null,
    options: ParallelixErrorOptions = {},
  ) {
    super(message, options);
  }
}

/** The idempotency key was used before for a different request (named fields differ); nothing was started. */
export class IdempotencyKeyReusedError extends ParallelixError {
  override readonly code = 'IDEMPOTENCY_KEY_REUSED';
  constructor(
    message: string,
    /** Fields of SubmitRequest that differ from the first request under this key. */
    readonly fields: string[],
  ) {
    super(message);
  }
}

/** The user's balance cannot cover the request's maximum cost. Nothing was dispatched or charged. */
export class InsufficientCreditsError extends ParallelixError {
  override readonly code = 'INSUFFICIENT_CREDITS';
}

/** No registered, healthy node offers the model (or all capable nodes were tried). The hold was released. */
export class NoCapableNodeError extends ParallelixError {
  override readonly code = 'NO_CAPABLE_NODE';
}

/** The request was admitted but could not be completed (e.g. every tried node failed); the hold was released. */
export class RequestFailedError extends ParallelixError {
  override readonly code: string;
  constructor(message: string, failureType: string | undefined, options: ParallelixErrorOptions = {}) {
    super(message, options);
    this.code = failureType ?? 'REQUEST_FAILED';
  }
}

/** The request was cancelled or terminated before it completed. */
export class RequestCancelledError extends ParallelixError {
  override readonly code = 'REQUEST_CANCELLED';
}
