import type { AnchorInput, AnchorOutput, createAnchor } from './anchor.js';
import type { SettleInput, SettleOutput, createSettle } from './settle.js';

export interface AnchorAndSettleInput {
  anchor: AnchorInput;
  settle: SettleInput;
}

export interface AnchoredAndSettled {
  anchor: AnchorOutput;
  settled: SettleOutput;
}

/**
 * Steps 12 to 14 as one local activity: the record anchored (its receipt awaited), then the metered cost captured
 * with 13's row update, one workflow activation and one marker instead of two. Settlement starts only once the
 * anchor returned, so it still strictly follows the record on chain. Retried whole: 12 finds a record already
 * written and sends nothing, 14 is idempotent by request id. The run tries it once; on failure it goes on with
 * 12 and 14 apart, with their own retries and the wait for the chain.
 */
export function anchorThenSettle(anchor: ReturnType<typeof createAnchor>, settle: ReturnType<typeof createSettle>) {
  return async function anchorAndSettle(input: AnchorAndSettleInput): Promise<AnchoredAndSettled> {
    const anchored = await anchor(input.anchor);
    return { anchor: anchored, settled: await settle(input.settle) };
  };
}
