import { isRetryableFailure } from '../protocol/failures.js';
import { ParallelixError } from '../shared/errors.js';

/**
 * Chain errors. `retryable` tells an activity whether trying again can help (RPC down, nonce race) or not (not
 * authorised, conflicting record, bad input): the failure catalogue (src/protocol/failures.ts) says, by code.
 */
export abstract class ChainError extends ParallelixError {
  get retryable(): boolean {
    return isRetryableFailure(this.code);
  }
}

/** The RPC endpoint did not answer or answered garbage. */
export class ChainUnavailableError extends ChainError {
  override readonly code = 'CHAIN_UNAVAILABLE';
}

/** The sending account is not in the registry's anchorer set. */
export class NotAuthorisedAnchorerError extends ChainError {
  override readonly code = 'CHAIN_NOT_ANCHORER';
}

/** The sending account is not the registry owner (addAnchorer / removeAnchorer). */
export class NotRegistryOwnerError extends ChainError {
  override readonly code = 'CHAIN_NOT_OWNER';
}

/** A record already exists for this request id with different contents. */
export class AnchorConflictError extends ChainError {
  override readonly code = 'CHAIN_ANCHOR_CONFLICT';
}

/** The contract rejected the record itself (zero ids, bad verdict / sampled-node combination). */
export class InvalidRecordError extends ChainError {
  override readonly code = 'CHAIN_INVALID_RECORD';
}

/** No registry code at the configured address. */
export class RegistryNotDeployedError extends ChainError {
  override readonly code = 'CHAIN_REGISTRY_MISSING';
}

/** A transaction failed or reverted for a reason not covered above. */
export class ChainTransactionError extends ChainError {
  override readonly code = 'CHAIN_TX_FAILED';
}

/** The Solidity compiler reported errors. */
export class ContractCompileError extends ChainError {
  override readonly code = 'CHAIN_COMPILE_FAILED';
}
