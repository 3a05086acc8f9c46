import { concatHex, hexToBytes, keccak256, numberToHex, sliceHex, type Hex } from 'viem';
import { nodeIdFromSignPublicKey } from '../crypto/identity.js';
import { InvalidInputError } from '../shared/errors.js';
import { idToBytes32, VERDICT_CODES, ZERO_BYTES32, type ChainRecordArgs, type ChainScore } from './record.js';

/**
 * A record as a batch carries it in calldata (ExecutionRegistry.anchorRoot): packed, without what the chain can
 * derive, because calldata is what a batched record costs (at 10 gas per non-zero-byte token under EIP-7623, the
 * ABI encoding's 600 bytes cost ~12,000 gas; these 164 bytes ~6,500).
 *
 *   0 verdict · 1 mode · 2 nodeDevice · 3 sampledNodeDevice (one byte each)
 *   4 requestId · 36 poe · 68 nodeSignKey (32 bytes each) · 100 signature (64 bytes)
 *   sampled verdicts only: 164 sampledNodeId (32) · 196 check · 206 dispute (u16 positions, u16 failing,
 *   u16 longestFailRun, u32 maxGap: 10 bytes each)
 *
 * The node id is not carried: it derives from nodeSignKey (nodeId = "node-" + hex(SHA-256(key)[0:20]), on chain
 * SHA-256 of that), so a batch can only name the node whose key it carries. Leaf = keccak256(packed bytes).
 */
export const PACKED_BASE_LENGTH = 164;
export const PACKED_SAMPLED_LENGTH = 216;

const u8 = (v: number): Hex => numberToHex(v, { size: 1 });
const score = (s: ChainScore): Hex => concatHex([numberToHex(s.positions, { size: 2 }), numberToHex(s.failing, { size: 2 }), numberToHex(s.longestFailRun, { size: 2 }), numberToHex(s.maxGap, { size: 4 })]);

/** The packed bytes of one record; throws when its node id is not the one its key derives. */
export function packRecord(args: ChainRecordArgs): Hex {
  if (args.nodeId !== idToBytes32(nodeIdFromSignPublicKey(hexToBytes(args.nodeSignKey)))) {
    throw new InvalidInputError('a batched record must name the node its signing key derives (node id = f(key))');
  }
  const base = concatHex([u8(args.verdict), u8(args.mode), u8(args.nodeDevice), u8(args.sampledNodeDevice), args.requestId, args.poe, args.nodeSignKey, args.signature]);
  return args.verdict === VERDICT_CODES.Accepted ? base : concatHex([base, args.sampledNodeId, score(args.check), score(args.dispute)]);
}

/** A batch leaf: keccak256 of the packed record. */
export function packedLeaf(packed: Hex): Hex {
  return keccak256(packed);
}

const int = (hex: Hex, start: number, size: number): number => Number.parseInt(sliceHex(hex, start, start + size).slice(2), 16);
const unscore = (hex: Hex, at: number): ChainScore => ({ positions: int(hex, at, 2), failing: int(hex, at + 2, 2), longestFailRun: int(hex, at + 4, 2), maxGap: int(hex, at + 6, 4) });
const zeroScore: ChainScore = { positions: 0, failing: 0, longestFailRun: 0, maxGap: 0 };

/** Splits a batch's calldata back into records (contract form, node id derived from the key) and their packed bytes. */
export function unpackRecords(data: Hex): Array<{ args: ChainRecordArgs; packed: Hex }> {
  const total = (data.length - 2) / 2;
  const out: Array<{ args: ChainRecordArgs; packed: Hex }> = [];
  for (let at = 0; at < total; ) {
    const verdict = int(data, at, 1);
    const length = verdict === VERDICT_CODES.Accepted ? PACKED_BASE_LENGTH : PACKED_SAMPLED_LENGTH;
    if (at + length > total) throw new InvalidInputError(`batch data ends inside a record at byte ${at}`);
    const packed = sliceHex(data, at, at + length);
    const nodeSignKey = sliceHex(packed, 68, 100);
    const sampled = length === PACKED_SAMPLED_LENGTH;
    out.push({
      packed,
      args: {
        requestId: sliceHex(packed, 4, 36),
        nodeId: idToBytes32(nodeIdFromSignPublicKey(hexToBytes(nodeSignKey))),
        poe: sliceHex(packed, 36, 68),
        verdict: verdict as ChainRecordArgs['verdict'],
        sampledNodeId: sampled ? sliceHex(packed, 164, 196) : ZERO_BYTES32,
        mode: int(packed, 1, 1),
        nodeDevice: int(packed, 2, 1),
        sampledNodeDevice: int(packed, 3, 1),
        check: sampled ? unscore(packed, 196) : zeroScore,
        dispute: sampled ? unscore(packed, 206) : zeroScore,
        nodeSignKey,
        signature: sliceHex(packed, 100, 164),
      },
    });
    at += length;
  }
  return out;
}
