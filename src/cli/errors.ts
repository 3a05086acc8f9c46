import { ParallelixError } from '../shared/errors.js';

/** `parallelix audit`: the chain record, the database rows and the recomputed PoE disagree. */
export class AuditMismatchError extends ParallelixError {
  override readonly code = 'AUDIT_MISMATCH';
}

/** A request, node or user named on the command line does not exist. */
export class NotFoundError extends ParallelixError {
  override readonly code = 'NOT_FOUND';
}
