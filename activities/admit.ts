import { Context } from '@temporalio/activity';
import { IdempotencyConflictError, InsufficientCreditsError } from '../src/db/errors.js';
import { reserveHold } from '../src/db/credits.js';
import { admitInOneStatement } from '../src/db/admit-statement.js';
import type { CoordinatorDeps } from './deps.js';
import { refuseCopiedInput } from './accept-request.js';
import { toApplicationFailure } from '../src/protocol/failures.js';

export interface AdmitInput {
  requestId: string;
  workflowId: string;
  userId: string;
  model: string;
  maxCost: number;
}

/**
 * Step 02: atomically check the user's balance, hold the maximum cost and record the request: one statement on the
 * way every new request takes, the transaction below when that statement changed nothing (a retry, too little
 * balance, a taken workflow id), which tells those apart, after refusing a copy of another run's sealed input
 * (step 01's replay rule, refuseCopiedInput). Idempotent by requestId: a retried admit finds the same
 * hold and the same row.
 */
export function createAdmit({ db }: Pick<CoordinatorDeps, 'db'>) {
  return async function admit(input: AdmitInput): Promise<{ held: number }> {
    const runId = currentRunId();
    const amount = BigInt(input.maxCost);
    try {
      // A zero or negative amount goes to the transaction, which refuses it with a typed error.
      if (amount > 0n && (await admitInOneStatement(db, { userExternalId: input.userId, requestId: input.requestId, workflowId: input.workflowId, ...(runId ? { runId } : {}), model: input.model, amount }))) {
        return { held: input.maxCost };
      }
      // A copy of another run's sealed input takes its workflow id, which made the statement above change nothing.
      if (runId !== undefined) await refuseCopiedInput(db, input.workflowId, runId);
      // The request row commits with the hold (one transaction): never a hold without its request, nor a request
      // without its hold.
      const hold = await reserveHold(db, { userExternalId: input.userId, requestId: input.requestId, amount, workflowId: input.workflowId }, async (tx, { userId }) => {
        // Insert-or-keep in one statement, no read-back. Nothing inserted and no row of this
        // request: another request holds this workflow id, which must not commit a hold without its request.
        const { count } = await tx.inferenceRequest.createMany({
          data: [{ requestId: input.requestId, workflowId: input.workflowId, ...(runId ? { runId } : {}), userId, model: input.model, maxCost: amount, status: 'ADMITTED', step: 2 }],
          skipDuplicates: true,
        });
        if (count === 0 && !(await tx.inferenceRequest.findUnique({ where: { requestId: input.requestId }, select: { id: true } }))) {
          throw new IdempotencyConflictError(`workflow ${input.workflowId} already holds another request`);
        }
      });
      return { held: Number(hold.amount) };
    } catch (error) {
      if (error instanceof InsufficientCreditsError) {
        throw toApplicationFailure(error, { requested: input.maxCost, available: Number(error.available ?? 0n) });
      }
      throw error;
    }
  };
}

/** The run this activity serves (step 01 tells a retried task of the same run from a replayed input); none outside one. */
function currentRunId(): string | undefined {
  try {
    return Context.current().info.workflowExecution?.runId;
  } catch {
    return undefined;
  }
}
