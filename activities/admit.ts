import { InsufficientCreditsError } from '../src/db/errors.js';
import { reserveHold } from '../src/db/credits.js';
import type { CoordinatorDeps } from './deps.js';
import { FailureType, nonRetryable } from './failures.js';

export interface AdmitInput {
  requestId: string;
  workflowId: string;
  userId: string;
  model: string;
  maxCost: number;
}

/**
 * Step 02: atomically check the user's balance and hold the maximum cost, then record the request.
 * Idempotent by requestId: a retried admit finds the same hold and the same row.
 */
export function createAdmit({ db }: Pick<CoordinatorDeps, 'db'>) {
  return async function admit(input: AdmitInput): Promise<{ held: number }> {
    try {
      const hold = await reserveHold(db, { userExternalId: input.userId, requestId: input.requestId, amount: BigInt(input.maxCost), workflowId: input.workflowId });
      const user = await db.user.findUniqueOrThrow({ where: { externalId: input.userId }, select: { id: true } });
      await db.inferenceRequest.upsert({
        where: { requestId: input.requestId },
        create: {
          requestId: input.requestId,
          workflowId: input.workflowId,
          userId: user.id,
          model: input.model,
          maxCost: BigInt(input.maxCost),
          status: 'ADMITTED',
          step: 2,
        },
        update: {},
      });
      return { held: Number(hold.amount) };
    } catch (error) {
      if (error instanceof InsufficientCreditsError) {
        throw nonRetryable(FailureType.insufficientCredits, error.message, {
          requested: input.maxCost,
          available: Number(error.available),
        });
      }
      throw error;
    }
  };
}
