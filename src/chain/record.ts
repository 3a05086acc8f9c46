import { sha256, stringToBytes, type Address, type Hex } from 'viem';
import { InvalidInputError } from '../shared/errors.js';

/**
 * Verdict codes stored on chain (uint8; 0 is never valid). Must match ExecutionRegistry.sol.
 * - Accepted: not sampled, accepted on signature + PoE (no sampled node).
 * - AcceptedSampledAgree: sampled, node_j agreed with node_i.
 * - AcceptedDisputeUpheld: sampled, disagreement resolved in node_i's favour (node_j penalised).
 * - MajorityOverruled: sampled, disagreement resolved against node_i (node_i penalised).
 */
export const VERDICT_CODES = {
  Accepted: 1,
  AcceptedSampledAgree: 2,
  AcceptedDisputeUpheld: 3,
  MajorityOverruled: 4,
} as const;

export type VerdictName = keyof typeof VERDICT_CODES;
export type VerdictCode = (typeof VERDICT_CODES)[VerdictName];

export function verdictName(code: number): VerdictName {
  const entry = Object.entries(VERDICT_CODES).find(([, c]) => c === code);
  if (!entry) throw new InvalidInputError(`unknown verdict code ${code}`);
  return entry[0] as VerdictName;
}

/** What the coordinator anchors (application ids; converted to bytes32 by toChainRecord). */
export interface ExecutionRecordInput {
  /** The request id as the coordinator allocated it (e.g. a UUID). */
  requestId: string;
  /** node_i's id, e.g. "node-<40 hex>". */
  nodeId: string;
  /** The PoE: 32 bytes as 64 hex characters (0x optional). */
  poe: string;
  verdict: VerdictName;
  /** node_j's id when the request was sampled; absent/null otherwise. */
  sampledNodeId?: string | null;
}

/** The same record in contract form. */
export interface ChainRecordArgs {
  requestKey: Hex;
  nodeKey: Hex;
  poe: Hex;
  verdict: VerdictCode;
  sampledNodeKey: Hex;
}

/** A record read back from the chain. */
export interface AnchoredRecord {
  requestKey: Hex;
  nodeKey: Hex;
  poe: Hex;
  verdict: VerdictName;
  verdictCode: number;
  /** ZERO_BYTES32 when not sampled. */
  sampledNodeKey: Hex;
  /** block.timestamp of the anchoring block, unix seconds. */
  timestamp: number;
  blockNumber: number;
  anchorer: Address;
}

export const ZERO_BYTES32: Hex = `0x${'0'.repeat(64)}`;

/**
 * Id convention (one rule for request ids and node ids): bytes32 = SHA-256(UTF-8(id)).
 * Whatever the id's shape (UUID, "node-…"), it is hashed, never padded or passed through,
 * so two different ids can never map to the same key by formatting accident. To look a
 * request up on chain, hash its id the same way.
 */
export function idToBytes32(id: string): Hex {
  if (typeof id !== 'string' || id.length === 0) throw new InvalidInputError('id must be a non-empty string');
  return sha256(stringToBytes(id));
}

/** A PoE (or any 32-byte digest) as hex, with or without 0x, to a lowercase bytes32. */
export function digestToBytes32(digest: string): Hex {
  const hex = digest.startsWith('0x') || digest.startsWith('0X') ? digest.slice(2) : digest;
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new InvalidInputError('digest must be 32 bytes as 64 hex characters');
  return `0x${hex.toLowerCase()}`;
}

export function toChainRecord(input: ExecutionRecordInput): ChainRecordArgs {
  const verdict = VERDICT_CODES[input.verdict];
  if (verdict === undefined) throw new InvalidInputError(`unknown verdict ${String(input.verdict)}`);
  const sampled = input.sampledNodeId ?? null;
  if (input.verdict === 'Accepted' && sampled !== null) {
    throw new InvalidInputError('an Accepted (unsampled) record cannot name a sampled node');
  }
  if (input.verdict !== 'Accepted' && sampled === null) {
    throw new InvalidInputError(`a ${input.verdict} record needs sampledNodeId`);
  }
  if (sampled !== null && sampled === input.nodeId) {
    throw new InvalidInputError('sampledNodeId must differ from nodeId');
  }
  return {
    requestKey: idToBytes32(input.requestId),
    nodeKey: idToBytes32(input.nodeId),
    poe: digestToBytes32(input.poe),
    verdict,
    sampledNodeKey: sampled === null ? ZERO_BYTES32 : idToBytes32(sampled),
  };
}

/** True when an on-chain record holds exactly these contents. */
export function sameRecord(args: ChainRecordArgs, record: AnchoredRecord): boolean {
  return (
    args.requestKey === record.requestKey.toLowerCase() &&
    args.nodeKey === record.nodeKey.toLowerCase() &&
    args.poe === record.poe.toLowerCase() &&
    args.verdict === record.verdictCode &&
    args.sampledNodeKey === record.sampledNodeKey.toLowerCase()
  );
}
