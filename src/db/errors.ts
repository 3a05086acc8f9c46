import { ParallelixError } from '../shared/errors.js';
import { Prisma } from './client.js';

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

/**
 * A unique key was taken: a model query's P2002, or a raw statement's P2010 whose driver error is a unique
 * constraint violation (SQLSTATE 23505).
 */
export function isUniqueViolation(error: unknown): boolean {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return false;
  if (error.code === 'P2002') return true;
  const cause = (error.meta?.driverAdapterError as { cause?: { kind?: unknown; originalCode?: unknown } } | undefined)?.cause;
  return error.code === 'P2010' && (cause?.kind === 'UniqueConstraintViolation' || cause?.originalCode === '23505');
}
