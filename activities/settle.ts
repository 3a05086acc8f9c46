import { ApplicationFailure } from '@temporalio/common';
import { actualCost } from '../src/coordinator/pricing.js';
import { nodeUptimes } from '../src/coordinator/uptime.js';
import { captureHold, getHold } from '../src/db/credits.js';
import type { TokenUsage } from '../src/protocol/inference.js';
import type { CoordinatorDeps } from './deps.js';

export interface SettleInput {
  requestId: string;
  nodeId: string;
  usage: TokenUsage;
}

export interface SettleOutput {
  charged: number;
  released: number;
  rewardWeight: number;
  uptimeFactor: number;
}

/**
 * Step 14, only after the anchor: capture the metered cost, release the rest of the hold, and credit node_i a
 * reward weight scaled by its uptime. Idempotent by request id (the hold's state and the reward's unique key).
 */
export function createSettle({ db, policy }: Pick<CoordinatorDeps, 'db' | 'policy'>) {
  return async function settle(input: SettleInput): Promise<SettleOutput> {
    const record = await db.executionRecord.findUnique({ where: { requestId: input.requestId } });
    if (!record?.anchorTxHash) {
      throw ApplicationFailure.nonRetryable(`request ${input.requestId} has no anchored execution record`, 'NOT_ANCHORED');
    }
    const hold = await getHold(db, input.requestId);
    if (!hold) throw ApplicationFailure.nonRetryable(`request ${input.requestId} has no credit hold`, 'NO_HOLD');
    const cost = actualCost(policy.price, input.usage, Number(hold.amount));
    const captured = await captureHold(db, { requestId: input.requestId, amount: BigInt(cost) });
    const uptime = (await nodeUptimes(db, [input.nodeId], policy.uptimeWindowMs)).get(input.nodeId) ?? 1;
    const weight = BigInt(Math.round(Number(captured.capturedAmount) * uptime));
    await db.$transaction([
      db.rewardLedgerEntry.createMany({
        data: [{ requestId: input.requestId, nodeId: input.nodeId, weight, uptimeFactor: uptime }],
        skipDuplicates: true,
      }),
      db.inferenceRequest.update({
        where: { requestId: input.requestId },
        data: {
          status: 'SETTLED',
          step: 14,
          actualCost: captured.capturedAmount,
          tokensIn: input.usage.inputTokens,
          tokensOut: input.usage.outputTokens,
          settledAt: new Date(),
        },
      }),
    ]);
    const reward = await db.rewardLedgerEntry.findUniqueOrThrow({
      where: { requestId_nodeId: { requestId: input.requestId, nodeId: input.nodeId } },
    });
    return {
      charged: Number(captured.capturedAmount),
      released: Number(captured.releasedAmount),
      rewardWeight: Number(reward.weight),
      uptimeFactor: reward.uptimeFactor,
    };
  };
}
