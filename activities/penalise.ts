import { Prisma } from '../src/db/client.js';
import type { CoordinatorDeps } from './deps.js';

export interface PenaltyInput {
  nodeId: string;
  requestId: string;
  /** e.g. BAD_SIGNATURE, POE_MISMATCH, SAMPLE_DISAGREEMENT. */
  reason: string;
}

/**
 * Records a penalty and lowers the node's reputation, once per (node, request, reason): the unique key makes a
 * retried activity a no-op. Returns whether this call applied it.
 */
export function createPenalise({ db, policy, logger }: CoordinatorDeps) {
  return async function penaliseNode(input: PenaltyInput): Promise<{ applied: boolean }> {
    try {
      await db.$transaction(async (tx) => {
        await tx.nodePenalty.create({ data: { nodeId: input.nodeId, requestId: input.requestId, reason: input.reason } });
        const node = await tx.node.findUniqueOrThrow({ where: { nodeId: input.nodeId }, select: { reputation: true } });
        await tx.node.update({
          where: { nodeId: input.nodeId },
          data: { penaltyCount: { increment: 1 }, reputation: node.reputation * policy.penaltyReputationFactor },
        });
      });
      logger.warn({ nodeId: input.nodeId, requestId: input.requestId, reason: input.reason }, 'node penalised');
      return { applied: true };
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') return { applied: false };
      throw error;
    }
  };
}
