import { ActivityFailure, ApplicationFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ParentClosePolicy, proxyActivities, startChild, upsertSearchAttributes } from '@temporalio/workflow';
import type { RegistrationActivities } from '../activities/register-node.js';
import { asWorkflowFailure } from '../src/protocol/failures.js';
import type { RegistrationWorkflow } from '../src/protocol/operator-endpoint-wire.js';
import { OPERATOR_WIRE } from '../src/protocol/operator-wire.js';
import { NODE_ID_SEARCH_ATTRIBUTE, nodeHealthWorkflow } from './node-health-workflow.js';

const { registerNode } = proxyActivities<Pick<RegistrationActivities, 'registerNode'>>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 5 },
});

export function nodeHealthWorkflowId(nodeId: string): string {
  return `node-health-${nodeId}`;
}

/**
 * Started by an operator at start-up with its signed announcement: verifies and stores the node, makes sure
 * its health monitor runs (it outlives this workflow), and answers with the coordinator's box key.
 * A refused announcement fails the workflow with the refusal's type (e.g. ANNOUNCEMENT_INVALID).
 */
export const registerNodeWorkflow: RegistrationWorkflow = async function registerNodeWorkflow(input) {
  let registration: Awaited<ReturnType<RegistrationActivities['registerNode']>>;
  try {
    registration = await registerNode(input);
  } catch (error) {
    const cause = error instanceof ActivityFailure ? error.cause : undefined;
    if (cause instanceof ApplicationFailure && cause.nonRetryable) {
      throw asWorkflowFailure(cause);
    }
    throw error;
  }
  const { nodeId } = registration;
  upsertSearchAttributes([{ key: NODE_ID_SEARCH_ATTRIBUTE, value: nodeId }]);
  try {
    await startChild(nodeHealthWorkflow, {
      workflowId: nodeHealthWorkflowId(nodeId),
      args: [{ nodeId, settings: registration.health }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error; // already monitored: fine
  }
  return {
    wire: OPERATOR_WIRE,
    nodeId,
    taskQueue: registration.taskQueue,
    coordinatorBoxPublicKey: registration.coordinatorBoxPublicKey,
    coordinatorSignPublicKey: registration.coordinatorSignPublicKey,
  };
};
