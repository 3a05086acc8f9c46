import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, TerminatedFailure } from '@temporalio/common';
import { isRequestInputFailure, type FailureTypeName } from '../protocol/failures.js';
import { InsufficientCreditsError, InvalidInputError, ParallelixError, type ParallelixErrorOptions } from '../shared/errors.js';

export { InsufficientCreditsError, InvalidInputError, ParallelixError } from '../shared/errors.js';

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

/** The run's one detail (src/protocol/failures.ts: token counts, amounts), as an object. */
function detailOf(failure: ApplicationFailure): Record<string, unknown> {
  const detail: unknown = failure.details?.[0];
  return typeof detail === 'object' && detail !== null ? (detail as Record<string, unknown>) : {};
}

function limitsOf(failure: ApplicationFailure): ContextLengthExceededError['limits'] {
  const { inputTokens, maxNewTokens, maxContextTokens } = detailOf(failure);
  if (typeof inputTokens === 'number' && typeof maxNewTokens === 'number' && typeof maxContextTokens === 'number') {
    return { inputTokens, maxNewTokens, maxContextTokens };
  }
  return null;
}

function amountsOf(failure: ApplicationFailure): { requested: bigint; available: bigint } | null {
  const { requested, available } = detailOf(failure);
  const amount = (value: unknown): bigint | null =>
    typeof value === 'number' && Number.isInteger(value) ? BigInt(value) : typeof value === 'string' && /^\d+$/.test(value) ? BigInt(value) : null;
  const [req, avail] = [amount(requested), amount(available)];
  return req === null || avail === null ? null : { requested: req, available: avail };
}

/** The SDK's typed error for each failure type that has one; any other type is a RequestFailedError of that code. */
const typedErrors: Partial<Record<FailureTypeName, (failure: ApplicationFailure) => ParallelixError>> = {
  PROMPT_TOO_LONG: (failure) => new ContextLengthExceededError(failure.message, limitsOf(failure), { cause: failure }),
  INSUFFICIENT_CREDITS: (failure) => new InsufficientCreditsError(failure.message, amountsOf(failure), { cause: failure }),
  NO_CAPABLE_NODE: (failure) => new NoCapableNodeError(failure.message, { cause: failure }),
};

/** Maps a failed run to the SDK's typed errors (the one way back from src/protocol/failures.ts). */
export function toSdkError(error: unknown): unknown {
  if (!(error instanceof WorkflowFailedError)) return error;
  const cause = error.cause;
  if (cause instanceof CancelledFailure || cause instanceof TerminatedFailure) {
    return new RequestCancelledError(`request was ${cause instanceof CancelledFailure ? 'cancelled' : 'terminated'}`, { cause });
  }
  if (!(cause instanceof ApplicationFailure)) return new RequestFailedError(error.message, undefined, { cause: error });
  const typed = cause.type ? typedErrors[cause.type as FailureTypeName] : undefined;
  if (typed) return typed(cause);
  if (isRequestInputFailure(cause.type)) return new InvalidInputError(cause.message, { cause });
  return new RequestFailedError(cause.message, cause.type ?? undefined, { cause });
}
