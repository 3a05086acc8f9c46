import { Prisma } from '../src/db/client.js';
import type { NodeFault } from '../src/protocol/failures.js';
import type { CoordinatorDeps } from './deps.js';

export interface PenaltyInput {
  nodeId: string;
  requestId: string;
  reason: NodeFault;
}

/**
 * Records a penalty and lowers the node's reputation, once per (node, request, reason): the unique key makes a
 * retried activity a no-op. Returns whether this call applied it.
 */
export function createPenalise({ db, policy, logger }: Pick<CoordinatorDeps, 'db' | 'policy' | 'logger'>) {
  return async function penaliseNode(input: PenaltyInput): Promise<{ applied: boolean; suspended?: boolean }> {
    try {
      const node = await db.$transaction(async (tx) => {
        await tx.nodePenalty.create({ data: { nodeId: input.nodeId, requestId: input.requestId, reason: input.reason } });
        // One UPDATE, no read-modify-write: concurrent penalties of one node all count. Past the threshold the node
        // is SUSPENDED (never matched again until approved); a RETIRED node stays retired.
        const rows = await tx.$queryRaw<Array<{ status: string; penaltyCount: number }>>`
          UPDATE "Node" SET
            "penaltyCount" = "penaltyCount" + 1,
            "reputation" = "reputation" * ${policy.penaltyReputationFactor},
            "status" = CASE WHEN "penaltyCount" + 1 >= ${policy.suspendAfterPenalties} AND "status" <> 'RETIRED'
                            THEN 'SUSPENDED'::"NodeStatus" ELSE "status" END,
            "updatedAt" = now()
          WHERE "nodeId" = ${input.nodeId}
          RETURNING "status"::text AS "status", "penaltyCount"`;
        const row = rows[0];
        if (!row) throw new Error(`node ${input.nodeId} vanished while being penalised`);
        return row;
      });
      logger.warn({ nodeId: input.nodeId, requestId: input.requestId, reason: input.reason, penaltyCount: node.penaltyCount, status: node.status }, 'node penalised');
      return { applied: true, suspended: node.status === 'SUSPENDED' };
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') return { applied: false };
      throw error;
    }
  };
}
