import { Client, Connection } from '@temporalio/client';
import { createPublicClient, http, type Hex } from 'viem';
import { generatePrivateKey } from 'viem/accounts';
import { digestToBytes32, idToBytes32, ZERO_BYTES32, type AnchoredRecord, type VerdictName } from '../../chain/record.js';
import { createRegistryClient } from '../../chain/registry.js';
import { coordinatorDataConverter } from '../../coordinator/data-converter.js';
import { computePoe, verifyPoeSignature } from '../../crypto/poe.js';
import type { InferenceResult } from '../../protocol/inference.js';
import { existingCodecKey, openDatabase, resolveChainReader, resolveTemporal } from '../../config/connections.js';
import { temporalConnectionSecurity } from '../../temporal/connection-security.js';
import { AuditMismatchError, NotFoundError } from '../errors.js';
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
    // Reading needs no funded key; the registry client wants one to exist.
    const registry = createRegistryClient({ ...chain, address: chain.registryAddress, privateKey: generatePrivateKey() });
    const onChain: AnchoredRecord | null = await registry.readRecord(requestId);
    const record = request.execution;
    check('anchored on chain', onChain !== null, onChain ? `block ${onChain.blockNumber}, anchorer ${onChain.anchorer}` : `no record for key ${idToBytes32(requestId)}`);
    check('execution record in database', record !== null, record ? `anchor tx ${record.anchorTxHash ?? '(none)'}` : 'missing');

    if (onChain && record) {
      check('node: chain = database', onChain.nodeKey === idToBytes32(record.nodeId) && record.nodeId === request.nodeId,
        `database ${record.nodeId} (request row ${request.nodeId ?? 'null'}), chain key ${onChain.nodeKey}`);
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
      if (record.anchorTxHash) {
        const receipt = await createPublicClient({ transport: http(chain.rpcUrl) })
          .getTransactionReceipt({ hash: record.anchorTxHash as Hex })
          .catch(() => null);
        check('anchor transaction', receipt !== null && receipt.status === 'success' && Number(receipt.blockNumber) === onChain.blockNumber,
          receipt ? `tx ${record.anchorTxHash} in block ${receipt.blockNumber} (${receipt.status}), record block ${onChain.blockNumber}` : `tx ${record.anchorTxHash} not found`);
      }
    }

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
    return { requestId, workflowId: request.workflowId, ok: checks.every((c) => c.outcome !== 'mismatch'), checks };
  } finally {
    await db.$disconnect();
  }
}

function safeHex(poe: string): Hex | null {
  try {
    return hex(poe);
  } catch {
    return null;
  }
}

/** `parallelix audit <requestId>`: exit 0 when everything agrees, 4 on any mismatch, 8 for an unknown request. */
export async function auditCommand(requestId: string, flags: { json?: boolean }): Promise<void> {
  const report = await withSpinner(`auditing ${requestId}`, () => auditRequest(requestId), flags);
  if (flags.json) {
    say(JSON.stringify(report, null, 2));
  } else {
    say(`audit of request ${requestId} (workflow ${report.workflowId ?? 'unknown'})`);
    printTable(['RESULT', 'CHECK', 'DETAIL'], report.checks.map((c) => [c.outcome === 'mismatch' ? 'MISMATCH' : c.outcome, c.name, c.detail]));
    say(report.ok ? 'consistent' : 'INCONSISTENT');
  }
  if (!report.ok) {
    const failed = report.checks.filter((c) => c.outcome === 'mismatch').map((c) => c.name);
    throw new AuditMismatchError(`audit of ${requestId} found ${failed.length} mismatch(es): ${failed.join('; ')}`);
  }
}
