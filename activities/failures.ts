import { ApplicationFailure } from '@temporalio/common';

/** Failure types the workflow and the client SDK match on. */
export const FailureType = {
  insufficientCredits: 'INSUFFICIENT_CREDITS',
  noCapableNode: 'NO_CAPABLE_NODE',
  invalidRequest: 'INVALID_INPUT',
  allNodesFailed: 'ALL_NODES_FAILED',
  /** This coordinator process holds another box key than the one the result was sealed to (a misconfigured fleet). */
  coordinatorKeyMismatch: 'COORDINATOR_KEY_MISMATCH',
  /** The input carries no valid platform seal (src/crypto/request-seal.ts), or its seal was already used. */
  requestNotAuthentic: 'REQUEST_NOT_AUTHENTIC',
} as const;

export function nonRetryable(type: string, message: string, details?: Record<string, unknown>): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, ...(details ? { details: [details] } : {}) });
}
