import { ParallelixError } from '../shared/errors.js';

/** `parallelix audit`: the chain record, the database rows and the recomputed PoE disagree. */
export class AuditMismatchError extends ParallelixError {
  override readonly code = 'AUDIT_MISMATCH';
}

/** `parallelix verify`: the result a user holds does not match the chain. */
export class VerifyMismatchError extends ParallelixError {
  override readonly code = 'VERIFY_MISMATCH';
}

/** `parallelix audit`: nothing disagreed, but some checks could not run (no codec key, history gone, …). */
export class AuditIncompleteError extends ParallelixError {
  override readonly code = 'AUDIT_INCOMPLETE';
}
