import { Client, Connection } from '@temporalio/client';
import { createPublicClient, http, type Hex } from 'viem';
import { digestToBytes32, idToBytes32, toChainScore, ZERO_BYTES32, type AnchoredRecord, type AnchorEvidence } from '../../chain/record.js';
import type { RecordScore, VerdictName } from '../../protocol/verdict.js';
import { readBatchedRecord } from '../../chain/batch-anchoring.js';
import { createReadClient } from '../../chain/clients.js';
import { verifyInclusion, type InclusionProof } from '../../chain/merkle.js';
import type { PrismaClient } from '../../db/client.js';
import { createRegistryReader } from '../../chain/registry.js';
import { coordinatorDataConverter } from '../../codec/data-converter.js';
import { computePoe, verifyPoeSignature } from '../../crypto/poe.js';
import type { InferenceResult } from '../../protocol/inference.js';
import { existingCodecKey, openDatabase, resolveChainReader, resolveTemporal } from '../../config/connections.js';
import { temporalConnectionSecurity } from '../../temporal/connection-security.js';
import { NotFoundError } from '../../shared/errors.js';
import { AuditIncompleteError, AuditMismatchError } from '../errors.js';
import { say } from '../output.js';
import { printTable } from '../table.js';
import { withSpinner } from '../spinner.js';

export type CheckOutcome = 'ok' | 'mismatch' | 'skipped';

export interface AuditCheck {
  name: string;
  outcome: CheckOutcome;
  detail: string;
}

export interface AuditReport {
  requestId: string;
  workflowId: string | null;
  /** consistent: every check ran and agreed; inconsistent: something disagreed; incomplete: nothing disagreed but some checks could not run. */
  status: 'consistent' | 'inconsistent' | 'incomplete';
  ok: boolean;
  checks: AuditCheck[];
}

function dbVerdictOf(verdict: VerdictName): 'UNSAMPLED' | 'AGREED' | 'DISAGREED' {
  if (verdict === 'Accepted') return 'UNSAMPLED';
  return verdict === 'AcceptedSampledAgree' ? 'AGREED' : 'DISAGREED';
}

const hex = (poe: string): Hex => digestToBytes32(poe);

/** The run's result, opened with the coordinator's codec key: the only place the result text is kept. */
async function fetchResult(workflowId: string): Promise<{ result: InferenceResult } | { skipped: string }> {
  const key = existingCodecKey();
  if (!key) return { skipped: 'no codec key here (PARALLELIX_CODEC_KEY or <state>/coordinator/codec-key): cannot open the result' };
  const temporal = resolveTemporal();
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: temporal.address, connectTimeout: 5_000, ...temporalConnectionSecurity() });
  } catch (error) {
    return { skipped: `Temporal at ${temporal.address} unreachable: ${error instanceof Error ? error.message : String(error)}` };
  }
  try {
    const client = new Client({ connection, namespace: temporal.namespace, dataConverter: coordinatorDataConverter(key) });
    const handle = client.workflow.getHandle(workflowId);
    let status: string;
    try {
      status = (await handle.describe()).status.name;
    } catch {
      return { skipped: `workflow ${workflowId} not found in Temporal (history past retention?)` };
    }
    if (status !== 'COMPLETED') return { skipped: `workflow ${workflowId} is ${status}` };
    return { result: (await handle.result()) as InferenceResult };
  } catch (error) {
    return { skipped: `could not open the result: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` };
  } finally {
    await connection.close();
  }
}

/**
 * Compares what the chain says (ExecutionRecord by request id) with the coordinator's database, and, where this
 * machine has the codec key, recomputes the PoE from the run's result text (kept only, encrypted, in Temporal)
 * and checks the node's signature over it with the node's registered key.
 */
export async function auditRequest(requestId: string): Promise<AuditReport> {
  const db = openDatabase();
  try {
    const request = await db.inferenceRequest.findUnique({ where: { requestId }, include: { execution: true } });
    if (!request) throw new NotFoundError(`no request ${requestId} in the database`);
    const checks: AuditCheck[] = [];
    const check = (name: string, ok: boolean, detail: string): void => {
      checks.push({ name, outcome: ok ? 'ok' : 'mismatch', detail });
    };
    const skip = (name: string, detail: string): void => {
      checks.push({ name, outcome: 'skipped', detail });
    };

    const chain = resolveChainReader();
    const record = request.execution;
    let onChain: AnchoredRecord | null;
    let evidence: AnchorEvidence | null;
    if (record?.batchRoot && record.anchorTxHash) {
      // Batched: the record is in its batch transaction's calldata, under a root the registry stores.
      const found = await readBatchedRecord(createReadClient(chain.rpcUrl, chain.chainId), chain.registryAddress, record.anchorTxHash as Hex, requestId);
      onChain = found?.record ?? null;
      evidence = found?.evidence ?? null;
      check('anchored on chain', found !== null, found ? `batch root ${found.batch.root} (${found.batch.count} records), block ${found.batch.blockNumber}, anchorer ${found.batch.anchorer}` : `tx ${record.anchorTxHash} anchors no stored batch holding key ${idToBytes32(requestId)}`);
      const stored = inclusionProofOf(record.batchProof);
      check('inclusion proof: database → root on chain', found !== null && stored !== null && record.batchRoot === found.batch.root && stored.root === found.batch.root && verifyInclusion(found.leaf, stored),
        found ? `database root ${record.batchRoot}, chain root ${found.batch.root}, leaf ${found.proof.index + 1} of ${found.batch.count}` : 'no batch on chain');
    } else {
      const registry = createRegistryReader({ ...chain, address: chain.registryAddress });
      onChain = await registry.readRecord(requestId);
      evidence = onChain ? await registry.readEvidence(onChain) : null;
      check('anchored on chain', onChain !== null, onChain ? `block ${onChain.blockNumber}, anchorer ${onChain.anchorer}` : `no record for key ${idToBytes32(requestId)}`);
    }
    check('execution record in database', record !== null, record ? `anchor tx ${record.anchorTxHash ?? '(none)'}` : 'missing');

    if (onChain && record) {
      // The request row names node_i (the first dispatch); a MajorityOverruled record names the node whose result
      // was delivered instead, and pairs it with node_i.
      const overruled = onChain.verdict === 'MajorityOverruled';
      const rowFits = overruled ? record.sampledNodeId === request.nodeId && record.nodeId !== request.nodeId : record.nodeId === request.nodeId;
      check('node: chain = database', onChain.nodeKey === idToBytes32(record.nodeId) && rowFits,
        `database ${record.nodeId} (request row: node_i ${request.nodeId ?? 'null'}${overruled ? ', overruled' : ''}), chain key ${onChain.nodeKey}`);
      let dbPoe: Hex | null = null;
      try {
        dbPoe = hex(record.poe);
      } catch {
        // a malformed PoE in the database is itself a mismatch
      }
      check('PoE: chain = database', dbPoe === onChain.poe, `database ${record.poe}, chain ${onChain.poe}`);
      check('verdict: chain = database', dbVerdictOf(onChain.verdict) === record.verdict && (request.verdict === null || request.verdict === record.verdict),
        `chain ${onChain.verdict}, database ${record.verdict} (request row ${request.verdict ?? 'null'})`);
      const sampledKey = record.sampledNodeId ? idToBytes32(record.sampledNodeId) : ZERO_BYTES32;
      check('sampled node: chain = database', onChain.sampledNodeKey === sampledKey, `database ${record.sampledNodeId ?? 'none'}, chain key ${onChain.sampledNodeKey}`);
      check('sample mode and scores: chain = database', sameEvidence(onChain, record),
        `chain ${onChain.mode} (check ${describeScore(onChain.check)}, dispute ${describeScore(onChain.dispute)}), database ${record.mode.toLowerCase()}`);
      check('devices: chain = database', onChain.nodeDevice === (record.nodeDevice ?? 'unknown') && onChain.sampledNodeDevice === (record.sampledNodeDevice ?? 'unknown'),
        `chain ${onChain.nodeDevice} / ${onChain.sampledNodeDevice}, database ${record.nodeDevice ?? 'unknown'} / ${record.sampledNodeDevice ?? 'unknown'}`);
      if (evidence) {
        const node = await db.node.findUnique({ where: { nodeId: record.nodeId }, select: { signPublicKey: true } });
        check('anchored key and signature = node and database', node?.signPublicKey === evidence.signPublicKey && record.signature === evidence.signature && verifyPoeSignature(onChain.poe.slice(2), evidence.signature, evidence.signPublicKey),
          `event of tx ${evidence.txHash}: key ${node?.signPublicKey === evidence.signPublicKey ? "= node's registered key" : '≠ registered key'}, signature ${record.signature === evidence.signature ? '= database' : '≠ database'}`);
      }
      if (record.anchorTxHash) {
        const receipt = await createPublicClient({ transport: http(chain.rpcUrl) })
          .getTransactionReceipt({ hash: record.anchorTxHash as Hex })
          .catch(() => null);
        check('anchor transaction', receipt !== null && receipt.status === 'success' && Number(receipt.blockNumber) === onChain.blockNumber,
          receipt ? `tx ${record.anchorTxHash} in block ${receipt.blockNumber} (${receipt.status}), record block ${onChain.blockNumber}` : `tx ${record.anchorTxHash} not found`);
      }
    }

    if (record?.anchoredAt) await checkLedger(db, request, record.anchoredAt, record.nodeId, check);
    else skip('ledger', 'no anchored record: nothing may have been captured or rewarded');

    const opened = await fetchResult(request.workflowId);
    if ('skipped' in opened) {
      skip('PoE recomputed from the result', opened.skipped);
    } else {
      const { result } = opened;
      const nodeId = record?.nodeId ?? request.nodeId ?? result.nodeId;
      const recomputed = computePoe({ requestId, result: result.text, nodeId });
      check('PoE recomputed from the result', hex(recomputed) === onChain?.poe && (record === null || hex(recomputed) === safeHex(record.poe)) && hex(result.poe) === hex(recomputed),
        `SHA-256(request id ‖ result ‖ ${nodeId}) = ${recomputed}`);
      const node = await db.node.findUnique({ where: { nodeId }, select: { signPublicKey: true } });
      if (!node) check('node signature over the PoE', false, `node ${nodeId} is not registered`);
      else check('node signature over the PoE', verifyPoeSignature(recomputed, result.signature, node.signPublicKey), `Ed25519 with ${nodeId}'s registered key`);
      if (record?.anchorTxHash) check('anchor tx: result = database', result.anchorTx === record.anchorTxHash, `result ${result.anchorTx}`);
    }
    const status = checks.some((c) => c.outcome === 'mismatch') ? 'inconsistent' : checks.some((c) => c.outcome === 'skipped') ? 'incomplete' : 'consistent';
    return { requestId, workflowId: request.workflowId, status, ok: status === 'consistent', checks };
  } finally {
    await db.$disconnect();
  }
}

/** The inclusion proof as stored in the database (JSON), or null when it is not one. */
function inclusionProofOf(value: unknown): InclusionProof | null {
  const p = value as Partial<InclusionProof> | null;
  const isHex = (v: unknown): v is Hex => typeof v === 'string' && /^0x[0-9a-fA-F]{64}$/.test(v);
  if (!p || !isHex(p.root) || typeof p.index !== 'number' || typeof p.count !== 'number' || !Array.isArray(p.steps)) return null;
  if (!p.steps.every((step) => isHex(step?.sibling) && typeof step?.left === 'boolean')) return null;
  return p as InclusionProof;
}

function safeHex(poe: string): Hex | null {
  try {
    return hex(poe);
  } catch {
    return null;
  }
}

function describeScore(score: RecordScore): string {
  return score.positions === 0 ? 'none' : `${score.failing}/${score.positions} failing, run ${score.longestFailRun}, max gap ${score.maxGap.toFixed(4)}`;
}

function sameScore(chain: RecordScore, stored: unknown): boolean {
  const s = (stored ?? null) as RecordScore | null;
  const c = toChainScore(chain);
  const d = toChainScore(s);
  return c.positions === d.positions && c.failing === d.failing && c.longestFailRun === d.longestFailRun && c.maxGap === d.maxGap;
}

function sameEvidence(onChain: AnchoredRecord, record: { mode: string; checkScore: unknown; disputeScore: unknown }): boolean {
  return onChain.mode === record.mode.toLowerCase() && sameScore(onChain.check, record.checkScore) && sameScore(onChain.dispute, record.disputeScore);
}

type Check = (name: string, ok: boolean, detail: string) => void;

/**
 * The money side of a settled request: the hold captured once for the metered cost and the rest released, the
 * delivering node rewarded once, scoring nodes only with verification weight, no penalised node rewarded, and
 * every settlement entry written after the record was anchored (invariant 4).
 */
async function checkLedger(
  db: PrismaClient,
  request: { requestId: string; actualCost: bigint | null; settledAt: Date | null; status: string },
  anchoredAt: Date,
  deliveringNodeId: string,
  check: Check,
): Promise<void> {
  const { requestId } = request;
  const [hold, entries, rewards, penalties] = await Promise.all([
    db.creditHold.findUnique({ where: { requestId } }),
    db.creditLedgerEntry.findMany({ where: { requestId } }),
    db.rewardLedgerEntry.findMany({ where: { requestId } }),
    db.nodePenalty.findMany({ where: { requestId } }),
  ]);
  const of = (kind: string) => entries.filter((e) => e.kind === kind);
  const [capture] = of('CAPTURE');
  const release = of('RELEASE');
  check('ledger: hold captured once for the metered cost',
    hold !== null && hold.status === 'CAPTURED' && of('CAPTURE').length === 1 && capture !== undefined && capture.amount === hold.capturedAmount && request.actualCost === hold.capturedAmount,
    hold ? `hold ${hold.amount} ${hold.status}, captured ${hold.capturedAmount}, request cost ${request.actualCost ?? 'null'}, capture entries ${of('CAPTURE').length}` : 'no hold');
  const released = hold ? hold.amount - hold.capturedAmount : 0n;
  check('ledger: the rest of the hold released once',
    hold !== null && hold.releasedAmount === released && (released === 0n ? release.length === 0 : release.length === 1 && release[0]!.amount === released),
    `released ${hold?.releasedAmount ?? 'n/a'} of ${released} expected, release entries ${release.length}`);
  const execution = rewards.filter((r) => r.kind === 'EXECUTION');
  const penalised = new Set(penalties.map((p) => p.nodeId));
  check('ledger: delivering node rewarded once, no penalised node rewarded',
    execution.length === 1 && execution[0]!.nodeId === deliveringNodeId && rewards.every((r) => !penalised.has(r.nodeId)),
    `rewards: ${rewards.map((r) => `${r.nodeId} ${r.kind.toLowerCase()} ${r.weight}`).join(', ') || 'none'}; penalised: ${[...penalised].join(', ') || 'none'}`);
  const late = [capture?.createdAt, ...release.map((r) => r.createdAt), ...rewards.map((r) => r.createdAt), request.settledAt].filter(
    (t): t is Date => t !== undefined && t !== null,
  );
  check('ledger: settled after the anchor', late.length > 0 && late.every((t) => t.getTime() >= anchoredAt.getTime()),
    `anchored ${anchoredAt.toISOString()}; earliest settlement entry ${late.length ? new Date(Math.min(...late.map((t) => t.getTime()))).toISOString() : 'none'}`);
}

/** `parallelix audit <requestId>`: exit 0 when everything agrees, 4 on any mismatch, 9 when checks could not run, 8 for an unknown request. */
export async function auditCommand(requestId: string, flags: { json?: boolean }): Promise<void> {
  const report = await withSpinner(`auditing ${requestId}`, () => auditRequest(requestId), flags);
  if (flags.json) {
    say(JSON.stringify(report, null, 2));
  } else {
    say(`audit of request ${requestId} (workflow ${report.workflowId ?? 'unknown'})`);
    printTable(['RESULT', 'CHECK', 'DETAIL'], report.checks.map((c) => [c.outcome === 'mismatch' ? 'MISMATCH' : c.outcome, c.name, c.detail]));
    say(report.status === 'consistent' ? 'consistent' : report.status === 'inconsistent' ? 'INCONSISTENT' : 'INCOMPLETE (some checks could not run)');
  }
  if (report.status === 'inconsistent') {
    const failed = report.checks.filter((c) => c.outcome === 'mismatch').map((c) => c.name);
    throw new AuditMismatchError(`audit of ${requestId} found ${failed.length} mismatch(es): ${failed.join('; ')}`);
  }
  if (report.status === 'incomplete') {
    const skipped = report.checks.filter((c) => c.outcome === 'skipped').map((c) => c.name);
    throw new AuditIncompleteError(`audit of ${requestId} could not run ${skipped.length} check(s): ${skipped.join('; ')}`);
  }
}
