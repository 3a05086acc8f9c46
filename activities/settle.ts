import { actualCost } from '../src/policy/pricing.js';
import { policyUptimeCache } from '../src/policy/uptime-cache.js';
import { captureHold } from '../src/db/credits.js';
import { NoHoldError } from '../src/db/errors.js';
import { settleInOneStatement } from '../src/db/settle-statement.js';
import type { TokenUsage } from '../src/protocol/inference.js';
import { applicationFailure, FailureType } from '../src/protocol/failures.js';
import type { CoordinatorDeps } from './deps.js';

export interface SettleInput {
  requestId: string;
  nodeId: string;
  usage: TokenUsage;
  /** Nodes that only scored a claim for this request (step 11, tolerant mode) and were not penalised. */
  verifiers?: Array<{ nodeId: string; scoredTokens: number }>;
  /** Step 13's row update rides on this transaction (the run returned its result just before); runs from before record it apart. */
  returned?: boolean;
}

export interface SettleOutput {
  charged: number;
  released: number;
  rewardWeight: number;
  uptimeFactor: number;
  /** Verification weights credited to scoring nodes. */
  verificationWeights: Array<{ nodeId: string; weight: number }>;
}

/**
 * A scoring node's weight: it ran one prefill over the prompt and the claimed answer, so it is paid those tokens at
 * the input (prefill) price, scaled by its uptime like the primary's reward (docs/sampling.md).
 */
export function verificationWeight(scoredTokens: number, inputPerToken: number, uptime: number): bigint {
  return BigInt(Math.round(scoredTokens * inputPerToken * uptime));
}

/** The delivering node's reward weight: the captured cost scaled by its uptime. */
function executionWeight(captured: bigint, uptime: number): bigint {
  return BigInt(Math.round(Number(captured) * uptime));
}

/** Thrown inside settle's transaction (rolls it back) when the request has no anchored record. */
class NotAnchoredError extends Error {
  constructor(requestId: string) {
    super(`request ${requestId} has no anchored execution record`);
  }
}

/** The ledger's token columns are 32-bit integers. */
const MAX_LEDGER_TOKENS = 2_147_483_647;

function ledgerCount(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? Math.min(value, MAX_LEDGER_TOKENS) : 0;
}

/**
 * Usage as Settle may write it: non-negative integers within the ledger's range. Anything else (NaN, negative,
 * fractional, not a number) counts as 0 tokens; the charge is capped by the hold whatever the counts.
 */
export function ledgerUsage(usage: unknown): TokenUsage {
  const { inputTokens, outputTokens } = (typeof usage === 'object' && usage !== null ? usage : {}) as Partial<Record<keyof TokenUsage, unknown>>;
  return { inputTokens: ledgerCount(inputTokens), outputTokens: ledgerCount(outputTokens) };
}

/**
 * Step 14, only after the anchor: capture the metered cost, release the rest of the hold, credit the delivering
 * node a reward weight scaled by its uptime and each scoring node its verification weight. Idempotent by request id
 * (the hold's state and the reward's unique (request, node) key).
 */
export function createSettle({ db, policy, uptimes: uptimeCache = policyUptimeCache(db, policy) }: Pick<CoordinatorDeps, 'db' | 'policy' | 'uptimes'>) {
  return async function settle(input: SettleInput): Promise<SettleOutput> {
    // Step 10 admits only counted usage; a run verified before it did may carry anything: never let it wedge Settle.
    const usage = ledgerUsage(input.usage);
    const verifiers = (input.verifiers ?? []).filter((v) => v.nodeId !== input.nodeId);
    const uptimes = await uptimeCache.get([input.nodeId, ...verifiers.map((v) => v.nodeId)]);
    const uptime = uptimes.get(input.nodeId) ?? 1;
    const verification = verifiers.map((v) => {
      const factor = uptimes.get(v.nodeId) ?? 1;
      return { requestId: input.requestId, nodeId: v.nodeId, kind: 'VERIFICATION' as const, weight: verificationWeight(v.scoredTokens, policy.price.inputPerToken, factor), uptimeFactor: factor };
    });
    const verificationWeights = verification.map((v) => ({ nodeId: v.nodeId, weight: Number(v.weight) }));
    // The way every first settle takes: one statement, charging the metered cost, which the hold (the worst case)
    // covers. Anything else (a repeat, a released hold, no anchored record, a usage above the hold) changes nothing
    // there and goes to the transaction below, which tells these apart and caps the charge at the hold.
    const metered = BigInt(actualCost(policy.price, usage, Number.MAX_SAFE_INTEGER));
    const weight = executionWeight(metered, uptime);
    const rewards = [{ nodeId: input.nodeId, kind: 'EXECUTION' as const, weight, uptimeFactor: uptime }, ...verification];
    const written = await settleInOneStatement(db, { requestId: input.requestId, charge: metered, rewards, usage, returned: input.returned === true });
    if (written) {
      return { charged: Number(metered), released: Number(written.released), rewardWeight: Number(weight), uptimeFactor: uptime, verificationWeights };
    }
    let reward: { weight: bigint; uptimeFactor: number } | undefined;
    // One transaction: the anchor check, the capture (its amount from the hold read under the account lock), the
    // rewards and the request's settled state commit together or not at all. A retry re-runs the idempotent part.
    const captured = await captureHold(
      db,
      { requestId: input.requestId, amount: (held) => BigInt(actualCost(policy.price, usage, Number(held))) },
      async (tx, outcome) => {
        const weight = executionWeight(outcome.capturedAmount, uptime);
        await tx.rewardLedgerEntry.createMany({
          data: [{ requestId: input.requestId, nodeId: input.nodeId, kind: 'EXECUTION', weight, uptimeFactor: uptime }, ...verification],
          skipDuplicates: true,
        });
        await tx.inferenceRequest.update({
          where: { requestId: input.requestId },
          data: {
            status: 'SETTLED',
            step: 14,
            actualCost: outcome.capturedAmount,
            tokensIn: usage.inputTokens,
            tokensOut: usage.outputTokens,
            settledAt: new Date(),
            ...(input.returned === true ? { completedAt: new Date() } : {}),
          },
        });
        // A capture made now wrote the reward above in this transaction; a repeated call reads the one it wrote then.
        reward = outcome.applied
          ? { weight, uptimeFactor: uptime }
          : await tx.rewardLedgerEntry.findUniqueOrThrow({
              where: { requestId_nodeId: { requestId: input.requestId, nodeId: input.nodeId } },
              select: { weight: true, uptimeFactor: true },
            });
      },
      async (tx) => {
        const record = await tx.executionRecord.findUnique({ where: { requestId: input.requestId }, select: { anchorTxHash: true } });
        if (!record?.anchorTxHash) throw new NotAnchoredError(input.requestId);
      },
    ).catch((error: unknown) => {
      if (error instanceof NotAnchoredError) {
        throw applicationFailure(FailureType.NOT_ANCHORED, `request ${input.requestId} has no anchored execution record`);
      }
      if (error instanceof NoHoldError) {
        throw applicationFailure(FailureType.NO_HOLD, `request ${input.requestId} has no credit hold`);
      }
      throw error;
    });
    return {
      charged: Number(captured.capturedAmount),
      released: Number(captured.releasedAmount),
      rewardWeight: Number(reward!.weight),
      uptimeFactor: reward!.uptimeFactor,
      verificationWeights,
    };
  };
}
