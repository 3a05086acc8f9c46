import { bytesToHex, encodeAbiParameters, keccak256, sha256, stringToBytes, type Address, type Hex } from 'viem';
import { fromBase64 } from '../crypto/encoding.js';
import { RECORD_INPUT_PARAMETER } from './abi.js';
import type { RecordMode, RecordScore, VerdictName } from '../protocol/verdict.js';
import { InvalidInputError } from '../shared/errors.js';

/** Verdict codes stored on chain (uint8; 0 is never valid). Must match ExecutionRegistry.sol. */
export const VERDICT_CODES = {
  Accepted: 1,
  AcceptedSampledAgree: 2,
  AcceptedDisputeUpheld: 3,
  MajorityOverruled: 4,
} as const satisfies Record<VerdictName, number>;

export type VerdictCode = (typeof VERDICT_CODES)[VerdictName];

export function verdictName(code: number): VerdictName {
  const entry = Object.entries(VERDICT_CODES).find(([, c]) => c === code);
  if (!entry) throw new InvalidInputError(`unknown verdict code ${code}`);
  return entry[0] as VerdictName;
}

/** Step 11's mode on chain (uint8): none only for an unsampled (Accepted) record. Must match ExecutionRegistry.sol. */
export const SAMPLE_MODE_CODES = { none: 0, exact: 1, tolerant: 2 } as const satisfies Record<RecordMode, number>;

/** A node's inference device on chain (uint8). */
export const DEVICE_CODES = { unknown: 0, cpu: 1, webgpu: 2 } as const;
export type RecordDevice = keyof typeof DEVICE_CODES;

/** What the coordinator anchors (application ids and values; converted to contract form by toChainRecord). */
export interface ExecutionRecordInput {
  /** The request id as the coordinator allocated it (e.g. a UUID). */
  requestId: string;
  /** The delivering node's id, e.g. "node-<40 hex>". */
  nodeId: string;
  /** The PoE: 32 bytes as 64 hex characters (0x optional). */
  poe: string;
  verdict: VerdictName;
  /** The other node of the sampled pair when the request was sampled; absent/null otherwise. */
  sampledNodeId?: string | null;
  /** How step 11 checked the result; 'none' exactly when the verdict is Accepted (not sampled). */
  mode: RecordMode;
  nodeDevice?: RecordDevice;
  sampledNodeDevice?: RecordDevice | null;
  /** Tolerant mode: node_j's score of node_i's claim. */
  check?: RecordScore | null;
  /** Tolerant mode, after a failed check: the third node's score of the same claim. */
  dispute?: RecordScore | null;
  /** The delivering node's Ed25519 public key, base64 (its nodeId derives from it). */
  signPublicKey: string;
  /** That node's Ed25519 signature over the PoE (docs/poe.md), base64. */
  signature: string;
}

/** A score in contract form: maxGap in 1e-4 σ; every field saturates at its integer width. */
export interface ChainScore {
  positions: number;
  failing: number;
  longestFailRun: number;
  maxGap: number;
}

/** The record in contract form: exactly ExecutionRegistry.RecordInput. */
export interface ChainRecordArgs {
  requestId: Hex;
  nodeId: Hex;
  poe: Hex;
  verdict: VerdictCode;
  sampledNodeId: Hex;
  mode: number;
  nodeDevice: number;
  sampledNodeDevice: number;
  check: ChainScore;
  dispute: ChainScore;
  nodeSignKey: Hex;
  signature: Hex;
}

/** A record read back from the chain (storage; the key and signature are in its ExecutionAnchored event). */
export interface AnchoredRecord {
  requestKey: Hex;
  nodeKey: Hex;
  poe: Hex;
  verdict: VerdictName;
  verdictCode: number;
  /** ZERO_BYTES32 when not sampled. */
  sampledNodeKey: Hex;
  mode: RecordMode;
  nodeDevice: RecordDevice;
  sampledNodeDevice: RecordDevice;
  /** Scores as anchored (maxGap back in σ units); zeros where no such check ran. */
  check: RecordScore;
  dispute: RecordScore;
  /** block.timestamp of the anchoring block, unix seconds. */
  timestamp: number;
  blockNumber: number;
  anchorer: Address;
}

/** What the ExecutionAnchored event adds: the signing key and the node's signature over the PoE. */
export interface AnchorEvidence {
  txHash: Hex;
  /** base64, as the node published it. */
  signPublicKey: string;
  /** base64. */
  signature: string;
  mode: RecordMode;
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

const MAX_GAP_UNIT = 1e-4;
const saturate = (value: number, bits: number): number => Math.max(0, Math.min(2 ** bits - 1, Math.round(value)));

export function toChainScore(score: RecordScore | null | undefined): ChainScore {
  if (!score) return { positions: 0, failing: 0, longestFailRun: 0, maxGap: 0 };
  return {
    positions: saturate(score.positions, 16),
    failing: saturate(score.failing, 16),
    longestFailRun: saturate(score.longestFailRun, 16),
    maxGap: saturate(Number.isFinite(score.maxGap) ? score.maxGap / MAX_GAP_UNIT : Number.MAX_VALUE, 32),
  };
}

export function fromChainScore(score: ChainScore): RecordScore {
  return { positions: score.positions, failing: score.failing, longestFailRun: score.longestFailRun, maxGap: score.maxGap * MAX_GAP_UNIT };
}

function codeName<T extends Record<string, number>>(codes: T, code: number, what: string): keyof T {
  const entry = Object.entries(codes).find(([, c]) => c === code);
  if (!entry) throw new InvalidInputError(`unknown ${what} code ${code}`);
  return entry[0] as keyof T;
}

export const modeName = (code: number): RecordMode => codeName(SAMPLE_MODE_CODES, code, 'sample mode');
export const deviceName = (code: number): RecordDevice => codeName(DEVICE_CODES, code, 'device');

function base64Bytes(value: string, length: number, what: string): Hex {
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(value);
  } catch {
    throw new InvalidInputError(`${what} must be base64`);
  }
  if (bytes.byteLength !== length) throw new InvalidInputError(`${what} must be ${length} bytes`);
  return bytesToHex(bytes);
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
  const mode = SAMPLE_MODE_CODES[input.mode];
  if (mode === undefined) throw new InvalidInputError(`unknown sample mode ${String(input.mode)}`);
  if ((input.verdict === 'Accepted') !== (input.mode === 'none')) {
    throw new InvalidInputError(`sample mode ${input.mode} does not fit verdict ${input.verdict}`);
  }
  const device = (d: RecordDevice | null | undefined): number => {
    const code = DEVICE_CODES[d ?? 'unknown'];
    if (code === undefined) throw new InvalidInputError(`unknown device ${String(d)}`);
    return code;
  };
  return {
    requestId: idToBytes32(input.requestId),
    nodeId: idToBytes32(input.nodeId),
    poe: digestToBytes32(input.poe),
    verdict,
    sampledNodeId: sampled === null ? ZERO_BYTES32 : idToBytes32(sampled),
    mode,
    nodeDevice: device(input.nodeDevice),
    sampledNodeDevice: device(input.sampledNodeDevice),
    check: toChainScore(input.check),
    dispute: toChainScore(input.dispute),
    nodeSignKey: base64Bytes(input.signPublicKey, 32, 'signPublicKey'),
    signature: base64Bytes(input.signature, 64, 'signature'),
  };
}

/** The record's one canonical byte encoding: the ABI encoding of ExecutionRegistry.RecordInput (what a batch root hashes). */
export function encodeRecord(args: ChainRecordArgs): Hex {
  return encodeAbiParameters([RECORD_INPUT_PARAMETER], [args]);
}

/** keccak256 of encodeRecord: a record's leaf for batching under one root. */
export function recordHash(args: ChainRecordArgs): Hex {
  return keccak256(encodeRecord(args));
}

const sameScore = (a: ChainScore, b: RecordScore): boolean => {
  const c = toChainScore(b);
  return a.positions === c.positions && a.failing === c.failing && a.longestFailRun === c.longestFailRun && a.maxGap === c.maxGap;
};

/** True when an on-chain record (and its event's key and signature) holds exactly these contents. */
export function sameRecord(args: ChainRecordArgs, record: AnchoredRecord, evidence?: AnchorEvidence): boolean {
  return (
    args.requestId === record.requestKey.toLowerCase() &&
    args.nodeId === record.nodeKey.toLowerCase() &&
    args.poe === record.poe.toLowerCase() &&
    args.verdict === record.verdictCode &&
    args.sampledNodeId === record.sampledNodeKey.toLowerCase() &&
    args.mode === SAMPLE_MODE_CODES[record.mode] &&
    args.nodeDevice === DEVICE_CODES[record.nodeDevice] &&
    args.sampledNodeDevice === DEVICE_CODES[record.sampledNodeDevice] &&
    sameScore(args.check, record.check) &&
    sameScore(args.dispute, record.dispute) &&
    (evidence === undefined ||
      (args.nodeSignKey === base64Bytes(evidence.signPublicKey, 32, 'signPublicKey') &&
        args.signature === base64Bytes(evidence.signature, 64, 'signature')))
  );
}
