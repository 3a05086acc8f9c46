import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { getBalance } from '../../src/db/credits.js';
import type { InferenceResult, InferenceWorkflowInput, RequestStatus } from '../../src/protocol/inference.js';
import { COORDINATOR_TASK_QUEUE } from '../../src/protocol/task-queues.js';
import { TEST_MODEL, type TestNetwork } from './network.js';
import { waitFor } from './observe.js';

/** A long-answer prompt: with operators allowing long generations, a request stays in step 05 for seconds. */
export const SEA_STORY: InferenceWorkflowInput['messages'] = [{ role: 'user', content: 'Tell me a long story about the sea.' }];
/** Operator limits that allow those long generations. */
export const LONG_GENERATIONS = { PARALLELIX_MAX_CONTEXT_TOKENS: '2048', PARALLELIX_MAX_NEW_TOKENS: '2000' };

export function startRequest(network: TestNetwork, userId: string, maxNewTokens: number, messages = SEA_STORY) {
  return network.client.workflow.start('inferenceWorkflow', {
    taskQueue: COORDINATOR_TASK_QUEUE,
    workflowId: `request-${randomUUID()}`,
    args: [{ userId, model: TEST_MODEL, messages, maxNewTokens } satisfies InferenceWorkflowInput],
  });
}

/** Waits until step 05 dispatched the request (its database row says so) and returns the node it went to. */
export function waitForDispatch(network: TestNetwork, workflowId: string): Promise<string> {
  return waitFor('the request dispatched to a node', async () => {
    const row = await network.db.inferenceRequest.findUnique({ where: { workflowId } });
    return row?.status === 'DISPATCHED' && row.nodeId ? row.nodeId : undefined;
  }, 30_000, 100);
}

/** True once step 02 decided the run: admitted (it has a request id) or refused (it ended). */
async function admissionDecided(handle: WorkflowHandle): Promise<boolean> {
  const description = await handle.describe();
  if (description.status.name !== 'RUNNING') return true; // refused (or done): past step 02 either way
  return ((await handle.query('status')) as RequestStatus).requestId !== null;
}

export interface ConcurrentAdmission {
  /** All 20 runs. */
  handles: WorkflowHandle[];
  /** The 10 that ran, with their results. */
  completed: { handle: WorkflowHandle; result: InferenceResult }[];
}

/**
 * Invariant 1 under concurrency: 20 requests at once on a balance covering 10. Exactly 10 run and are charged once,
 * 10 are refused with INSUFFICIENT_CREDITS, and the balance ends exact and never negative.
 */
export async function expectConcurrentAdmission(network: TestNetwork): Promise<ConcurrentAdmission> {
  const userId = `user-${randomUUID()}`;
  const maxNewTokens = 400;
  const maxCost = 16 + Buffer.byteLength(SEA_STORY[0]!.content) + 16 + maxNewTokens * 2;
  await network.fund(userId, maxCost * 10);
  // The chain frozen (SIGSTOP) while the 20 are admitted: nothing can anchor, so no settle can release unused
  // credits before every admission is decided. Anchoring retries until the chain answers again.
  const chain = -network.anvil.pid; // anvil's process group (its orphan guard and anvil)
  process.kill(chain, 'SIGSTOP');
  let handles: WorkflowHandle[] = [];
  try {
    handles = await Promise.all(Array.from({ length: 20 }, () => startRequest(network, userId, maxNewTokens)));
    await waitFor('every admission decided', async () => ((await Promise.all(handles.map(admissionDecided))).every(Boolean) ? true : undefined), 60_000, 200);
    expect(await getBalance(network.db, userId)).toEqual({ balance: 0n, held: BigInt(maxCost * 10) });
  } finally {
    process.kill(chain, 'SIGCONT');
  }
  const outcomes = await Promise.all(handles.map((h) => h.result().then((r: InferenceResult) => r, (e: unknown) => e)));
  const completed = handles.flatMap((handle, i) => {
    const outcome = outcomes[i];
    return outcome instanceof Error ? [] : [{ handle, result: outcome as InferenceResult }];
  });
  // Counted by outcome, so a failure names what else happened (e.g. ALL_NODES_FAILED under load).
  const byOutcome: Record<string, number> = {};
  for (const o of outcomes) {
    const key = o instanceof WorkflowFailedError ? String((o.cause as ApplicationFailure).type) : o instanceof Error ? o.message : 'completed';
    byOutcome[key] = (byOutcome[key] ?? 0) + 1;
  }
  expect(byOutcome).toEqual({ completed: 10, INSUFFICIENT_CREDITS: 10 });
  const charged = completed.reduce((sum, { result }) => sum + result.creditsCharged, 0);
  expect(await getBalance(network.db, userId)).toEqual({ balance: BigInt(maxCost * 10 - charged), held: 0n });
  expect(await network.db.creditLedgerEntry.count({ where: { user: { externalId: userId }, kind: 'CAPTURE' } })).toBe(10);
  return { handles, completed };
}
