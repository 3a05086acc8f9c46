import { ParallelixError, type ParallelixErrorOptions } from '../shared/errors.js';

export { InvalidInputError } from '../shared/errors.js';

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
