import type { Hex, TransactionReceipt } from 'viem';
import { isNonceError, revertOf, toChainError } from './clients.js';
import { ChainTransactionError } from './errors.js';

const MAX_SEND_ATTEMPTS = 5;

/** One write-once registry entry (a record or a batch root): how to find it, send it and name it in errors. */
export interface WriteOnce<T> {
  /** The entry already on chain, resolved to the caller's result; null when absent. */
  find: () => Promise<T | null>;
  /** Send the transaction (its gas estimate reverts with the contract's error, nothing is sent then); its hash. */
  send: () => Promise<Hex>;
  wait: (hash: Hex) => Promise<TransactionReceipt>;
  resetNonce: () => void;
  /** The contract's error when another writer got there first. */
  raceError: string;
  /** Error wording: `anchor record` / `wait for anchor tx …` / `anchor transaction … reverted`. */
  labels: { send: string; wait: string; reverted: string };
  mined: (hash: Hex, receipt: TransactionReceipt) => T;
}

/**
 * Exactly once across retries and racing writers. The contract refuses a second write of an entry, so the entry is
 * sent first and looked up on chain only when the contract says it is there (a retry after a crash, another writer):
 * one read less per write in the common case. A race or a nonce error is retried (up to MAX_SEND_ATTEMPTS), a
 * revert on chain is resolved by looking again. A receipt that never comes resets the nonce: the transaction may be
 * gone with a crashed node's mempool, and the next send must ask the node for the pending nonce instead of skipping
 * past the lost one (which would queue every later transaction behind a gap).
 */
export async function writeOnce<T>(entry: WriteOnce<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    let txHash: Hex;
    try {
      txHash = await entry.send();
    } catch (err) {
      const raced = revertOf(err)?.errorName === entry.raceError;
      if (raced) {
        const existing = await entry.find();
        if (existing) return existing;
      }
      const nonce = isNonceError(err);
      if (nonce) entry.resetNonce();
      if ((raced || nonce) && attempt < MAX_SEND_ATTEMPTS) continue;
      throw toChainError(err, entry.labels.send);
    }
    let receipt: TransactionReceipt;
    try {
      receipt = await entry.wait(txHash);
    } catch (err) {
      entry.resetNonce();
      throw toChainError(err, `${entry.labels.wait} ${txHash}`);
    }
    if (receipt.status === 'success') return entry.mined(txHash, receipt);
    // Reverted on chain: normally another writer got there between our check and inclusion.
    const after = await entry.find();
    if (after) return after;
    throw new ChainTransactionError(`${entry.labels.reverted} ${txHash} reverted`, { details: `block ${receipt.blockNumber}` });
  }
}
