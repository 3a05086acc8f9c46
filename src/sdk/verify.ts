import { z } from 'zod';
import type { Address, Hex } from 'viem';
import { readBatchedRecord } from '../chain/batch-anchoring.js';
import { createReadClient } from '../chain/clients.js';
import { digestToBytes32, idToBytes32, ZERO_BYTES32, type AnchoredRecord, type AnchorEvidence } from '../chain/record.js';
import { createRegistryReader } from '../chain/registry.js';
import { fromBase64 } from '../crypto/encoding.js';
import { nodeIdFromSignPublicKey } from '../crypto/identity.js';
import { computePoe, verifyPoeSignature } from '../crypto/poe.js';
import { InvalidInputError } from '../shared/errors.js';

/**
 * Checks a result against the chain alone: what a user holds (the object `parallelix submit --json` prints, or
 * the SDK's SubmitResult) and the ExecutionRegistry. No database, no Temporal, no codec key.
 *
 * @example
 * const report = await verifyResult(JSON.parse(json), { rpcUrl, chainId: 31337, registryAddress });
 * if (!report.ok) console.error(report.checks.filter((c) => !c.ok));
 */
export interface ChainEndpoint {
  rpcUrl: string;
  chainId: number;
  registryAddress: Address;
}

export interface VerifyCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface VerifyReport {
  requestId: string;
  ok: boolean;
  checks: VerifyCheck[];
  /** The anchored record as read from the chain (null when there is none). */
  record: (AnchoredRecord & { anchorTx: string; signPublicKey: string }) | null;
}

const holdingSchema = z
  .object({
    requestId: z.string().min(1),
    nodeId: z.string().min(1),
    /** `submit --json` calls the text `result`; the SDK's SubmitResult calls it `text`. */
    result: z.string().optional(),
    text: z.string().optional(),
    poe: z.string().optional(),
    signature: z.string().optional(),
    verdict: z.string().min(1),
    mode: z.string().optional(),
    anchorTx: z.string().optional(),
    sampled: z.boolean().optional(),
  })
  .refine((v) => v.result !== undefined || v.text !== undefined, { message: 'result (the text) is required', path: ['result'] });

export type VerifiableResult = z.input<typeof holdingSchema>;

export function parseVerifiableResult(value: unknown): z.output<typeof holdingSchema> {
  const parsed = holdingSchema.safeParse(value);
  if (!parsed.success) {
    throw new InvalidInputError('not a result to verify', {
      details: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
    });
  }
  return parsed.data;
}

function sameDigest(a: string, b: string): boolean {
  try {
    return digestToBytes32(a) === digestToBytes32(b);
  } catch {
    return false;
  }
}

function keyNodeId(signPublicKey: string): string | null {
  try {
    return nodeIdFromSignPublicKey(fromBase64(signPublicKey));
  } catch {
    return null;
  }
}

export async function verifyResult(held: unknown, chain: ChainEndpoint): Promise<VerifyReport> {
  const claim = parseVerifiableResult(held);
  const text = claim.result ?? claim.text ?? '';
  const reader = createRegistryReader({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, address: chain.registryAddress });
  const checks: VerifyCheck[] = [];
  const check = (name: string, ok: boolean, detail: string): void => void checks.push({ name, ok, detail });

  // A record of its own in storage, else (batched anchoring) the record inside the held anchor transaction's batch,
  // whose Merkle root the registry stores: either way from the chain alone.
  const stored = await reader.readRecord(claim.requestId);
  const batched = stored === null && claim.anchorTx && /^0x[0-9a-fA-F]{64}$/.test(claim.anchorTx)
    ? await readBatchedRecord(createReadClient(chain.rpcUrl, chain.chainId), chain.registryAddress, claim.anchorTx as Hex, claim.requestId)
    : null;
  const record = stored ?? batched?.record ?? null;
  check('record on chain', record !== null,
    batched ? `in batch ${batched.batch.root} (${batched.batch.count} records), block ${batched.batch.blockNumber}, anchorer ${batched.batch.anchorer}` : record ? `block ${record.blockNumber}, anchorer ${record.anchorer}` : `no record for key ${idToBytes32(claim.requestId)}`);
  if (!record) return { requestId: claim.requestId, ok: false, checks, record: null };
  const evidence: AnchorEvidence = batched?.evidence ?? (await reader.readEvidence(record));

  check('node', record.nodeKey.toLowerCase() === idToBytes32(claim.nodeId), `${claim.nodeId}; chain key ${record.nodeKey}`);
  const poe = computePoe({ requestId: claim.requestId, result: text, nodeId: claim.nodeId });
  check('PoE recomputed from the text', sameDigest(poe, record.poe) && (claim.poe === undefined || sameDigest(claim.poe, poe)),
    `SHA-256(request id ‖ text ‖ node id) = ${poe}; chain ${record.poe}${claim.poe ? `; held ${claim.poe}` : ''}`);
  check('signing key belongs to the node', keyNodeId(evidence.signPublicKey) === claim.nodeId, `key ${evidence.signPublicKey} (anchored in tx ${evidence.txHash})`);
  check('node signature over the PoE', verifyPoeSignature(poe, evidence.signature, evidence.signPublicKey) && (claim.signature === undefined || claim.signature === evidence.signature),
    `Ed25519 signature anchored with the record${claim.signature ? ', equal to the one held' : ''}`);
  check('verdict', claim.verdict === record.verdict, `held ${claim.verdict}, chain ${record.verdict}`);
  check('sample mode', claim.mode === undefined || claim.mode === record.mode, `held ${claim.mode ?? '(not given)'}, chain ${record.mode}${record.mode === 'tolerant' ? ` (check: ${record.check.failing}/${record.check.positions} failing, max gap ${record.check.maxGap.toFixed(4)} σ)` : ''}`);
  if (claim.sampled !== undefined) {
    check('sampled', claim.sampled === (record.sampledNodeKey !== ZERO_BYTES32), `held ${claim.sampled}, chain ${record.sampledNodeKey === ZERO_BYTES32 ? 'not sampled' : `paired with ${record.sampledNodeKey}`}`);
  }
  if (claim.anchorTx !== undefined) check('anchor transaction', claim.anchorTx.toLowerCase() === evidence.txHash.toLowerCase(), `held ${claim.anchorTx}, chain ${evidence.txHash}`);
  return {
    requestId: claim.requestId,
    ok: checks.every((c) => c.ok),
    checks,
    record: { ...record, anchorTx: evidence.txHash, signPublicKey: evidence.signPublicKey },
  };
}
