import { ApplicationFailure } from '@temporalio/common';

/** Failure types the workflow and the client SDK match on. */
export const FailureType = {
  insufficientCredits: 'INSUFFICIENT_CREDITS',
  noCapableNode: 'NO_CAPABLE_NODE',
  invalidRequest: 'INVALID_INPUT',
  allNodesFailed: 'ALL_NODES_FAILED',
} as const;

export function nonRetryable(type: string, message: string, details?: Record<string, unknown>): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, ...(details ? { details: [details] } : {}) });
}
