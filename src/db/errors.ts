import { ParallelixError } from '../shared/errors.js';

/** The account cannot cover the requested hold (or does not exist, which is a zero balance). */
export { InsufficientCreditsError } from '../shared/errors.js';

/** A hold operation does not fit the hold's state (capture above the held amount, capture after release, unknown hold). */
export class HoldStateError extends ParallelixError {
  override readonly code = 'HOLD_STATE_INVALID';
}

/** The request has no credit hold at all (it was never admitted). */
export class NoHoldError extends HoldStateError {}

/** The same idempotency key was reused for a different operation (other user, other amount). */
export class IdempotencyConflictError extends ParallelixError {
  override readonly code = 'IDEMPOTENCY_CONFLICT';
}

/** Applying the database migrations failed. */
export class MigrationError extends ParallelixError {
  override readonly code = 'MIGRATION_FAILED';
}
