import { releaseHold } from '../src/db/credits.js';
import type { CoordinatorDeps } from './deps.js';

/**
 * Compensation before the anchor: release the whole credit hold and mark the request failed. Idempotent: a
 * released hold stays released, and a request that never got a row is left alone.
 */
export function createReleaseCredits({ db }: CoordinatorDeps) {
  return async function releaseCredits(input: { requestId: string; reason: string }): Promise<{ released: number }> {
    const hold = await releaseHold(db, input.requestId);
    await db.inferenceRequest.updateMany({
      where: { requestId: input.requestId, status: { notIn: ['SETTLED', 'FAILED'] } },
      data: { status: 'FAILED', failureReason: input.reason.slice(0, 500), completedAt: new Date() },
    });
    return { released: Number(hold?.releasedAmount ?? 0) };
  };
}
