import type { Hex } from 'viem';
import { planBatch, planFromPacked, type BatchAnchorer, type BatchAnchorResult, type BatchPlan } from './batch-anchoring.js';
import type { InclusionProof } from './merkle.js';
import type { ExecutionRecordInput } from './record.js';

/** Where one record was anchored in a group-committed batch. */
export interface GroupAnchored {
  root: Hex;
  proof: InclusionProof;
  txHash: Hex;
  blockNumber: bigint;
  /** Gas of the whole batch and how many records shared it. */
  batchGasUsed: bigint;
  batchSize: number;
  alreadyAnchored: boolean;
}

export interface AnchorGroupCommit {
  /** Resolves once the record's batch is mined (rejects with the batch's error: the activity retries it alone). */
  anchor(record: ExecutionRecordInput): Promise<GroupAnchored>;
  /**
   * Sends again a batch planned before (its packed records, as beforeSend saw them) and resolves with the record at
   * `position`: a record that may be on chain in that batch never goes into another one. Shared per root.
   */
  anchorAgain(packed: Hex, position: number): Promise<GroupAnchored>;
  /** Whether a batch root is anchored on chain. */
  isOnChain(root: Hex): Promise<boolean>;
  /** Records waiting for the next batch and whether a batch is in flight (metrics, tests). */
  state(): { queued: number; inFlight: boolean };
}

interface Waiting {
  record: ExecutionRecordInput;
  promise: Promise<GroupAnchored>;
  resolve(value: GroupAnchored): void;
  reject(error: unknown): void;
}

/**
 * Group commit for step 12, one per coordinator process (one anchoring account, so one nonce sequence). A record
 * arriving while no batch is in flight is sent at once, alone: nothing waits for a timer. Records arriving while a
 * batch is in flight queue up and go together in the next transaction as soon as it is mined, so under load the
 * batches grow by themselves (up to `maxBatch`). A record already queued or in flight for the same request id
 * shares that attempt. An invalid record is refused alone before it can spoil a batch.
 *
 * After a batch is mined the next one leaves at the end of that event-loop turn, not at once: callers its receipt
 * released re-enter in their continuations (a closed loop of clients does), and sending before they ran split every
 * round into a lone record and the rest (1/15 at 16 clients: twice the gas per record). Not a timer: setImmediate.
 */
export interface GroupCommitOptions {
  maxBatch: number;
  /** Runs before each batch is sent (the coordinator writes the batch down); a failure fails that batch unsent. */
  beforeSend?: (plan: BatchPlan) => Promise<void>;
}

function placed(result: BatchAnchorResult, position: number, batchSize: number): GroupAnchored {
  return {
    root: result.root,
    proof: result.proofs[position]!,
    txHash: result.txHash,
    blockNumber: result.blockNumber,
    batchGasUsed: result.gasUsed,
    batchSize,
    alreadyAnchored: result.alreadyAnchored,
  };
}

export function createAnchorGroupCommit(anchorer: BatchAnchorer, options: GroupCommitOptions): AnchorGroupCommit {
  const queue: Waiting[] = [];
  const inFlightByRoot = new Map<Hex, Promise<BatchAnchorResult>>();
  const pending = new Map<string, Waiting>();
  let draining = false;
  let inFlight = false;

  /** One send per root at a time in this process: a retry of a record whose batch is being sent shares it. */
  function send(plan: BatchPlan): Promise<BatchAnchorResult> {
    let sending = inFlightByRoot.get(plan.root);
    if (!sending) {
      sending = anchorer.sendBatch(plan).finally(() => inFlightByRoot.delete(plan.root));
      inFlightByRoot.set(plan.root, sending);
    }
    return sending;
  }

  async function drain(): Promise<void> {
    draining = true;
    try {
      while (queue.length > 0) {
        const batch = queue.splice(0, options.maxBatch);
        inFlight = true;
        try {
          const plan = planBatch(batch.map((w) => w.record));
          await options.beforeSend?.(plan);
          const result = await send(plan);
          batch.forEach((w, i) => w.resolve(placed(result, i, batch.length)));
        } catch (error) {
          for (const w of batch) w.reject(error);
        } finally {
          inFlight = false;
          for (const w of batch) pending.delete(w.record.requestId);
        }
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      draining = false;
    }
  }

  return {
    anchor(record) {
      const same = pending.get(record.requestId);
      if (same) return same.promise;
      anchorer.prepare(record); // throws InvalidInputError for a record the contract would refuse
      let resolve!: (value: GroupAnchored) => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<GroupAnchored>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      const waiting: Waiting = { record, promise, resolve, reject };
      pending.set(record.requestId, waiting);
      queue.push(waiting);
      if (!draining) void drain();
      return promise;
    },
    async anchorAgain(packed, position) {
      const plan = planFromPacked(packed);
      return placed(await send(plan), position, plan.proofs.length);
    },
    isOnChain: async (root) => (await anchorer.readBatch(root)) !== null,
    state: () => ({ queued: queue.length, inFlight }),
  };
}
