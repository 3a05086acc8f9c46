import type { InferenceWorkflowInput } from '../src/protocol/inference.js';
import { createAcceptRequest, type AcceptedRequest } from './accept-request.js';
import { createAdmit } from './admit.js';
import type { CoordinatorDeps } from './deps.js';

export interface AcceptAndAdmitInput {
  request: InferenceWorkflowInput;
  requestId: string;
  workflowId: string;
}

/**
 * Steps 01 and 02 as one local activity: check and price the request, then hold its maximum cost. A local activity
 * costs its run a workflow activation and a marker; 01 never waits, so it rides on 02's. Retried whole: 01 is
 * pure and 02 idempotent by request id.
 */
export function createAcceptAndAdmit(deps: Pick<CoordinatorDeps, 'db' | 'policy' | 'requestSealKey' | 'tokens'>) {
  return acceptThenAdmit(createAcceptRequest(deps), createAdmit(deps));
}

/** The composition itself, of any implementations of the two steps. */
export function acceptThenAdmit(accept: ReturnType<typeof createAcceptRequest>, admit: ReturnType<typeof createAdmit>) {
  return async function acceptAndAdmit(input: AcceptAndAdmitInput): Promise<AcceptedRequest> {
    const accepted = await accept(input.request);
    const { userId, model } = input.request;
    await admit({ requestId: input.requestId, workflowId: input.workflowId, userId, model, maxCost: accepted.maxCost });
    return accepted;
  };
}
