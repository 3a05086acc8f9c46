import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import path from 'node:path';
import type { Hex, Address } from 'viem';
import { createCoordinatorActivities } from '../../activities/index.js';
import { createRegistrationActivities } from '../../activities/register-node.js';
import { NotAuthorisedAnchorerError } from '../chain/errors.js';
import { createBatchAnchorer } from '../chain/batch-anchoring.js';
import { createRegistryClient, type RegistryClient } from '../chain/registry.js';
import { createAnchorGroupCommit, type AnchorGroupCommit } from '../chain/anchor-group-commit.js';
import { codecKeyFile, coordinatorKeyDir, loadOrCreateCodecKey } from '../codec/codec-key.js';
import { coordinatorKeyFile } from '../config/connections.js';
import { toBase64 } from '../crypto/encoding.js';
import { loadOrCreateIdentity } from '../crypto/identity.js';
import { createPrismaClient, disconnect, type PrismaClient } from '../db/client.js';
import type { CoordinatorMetrics } from '../metrics/coordinator-metrics.js';
import { claimAnchorer } from './anchorer-lock.js';
import { recordPlannedBatch } from '../db/anchor-batches.js';
import { startHoldSweeper, type RunningSweeper } from './hold-sweeper.js';
import { readNodeAllowlist } from '../policy/node-admission.js';
import { instrumentActivities } from './instrument-activities.js';
import type { NodeHealthSettings } from '../policy/node-health-settings.js';
import { COORDINATOR_TASK_QUEUE } from '../protocol/task-queues.js';
import { ProvisioningError } from '../shared/errors.js';
import { createLogger } from '../shared/logger.js';
import { temporalConnectionSecurity } from '../temporal/connection-security.js';
import { temporalGrpcCompression } from '../temporal/grpc-compression.js';
import { projectRoot } from '../shared/paths.js';
import { loadCoordinatorPolicy, type CoordinatorPolicy } from '../policy/coordinator-policy.js';
import { coordinatorDataConverter } from '../codec/data-converter.js';
import { createTokenCounter, type TokenCounter } from '../inference/token-counter.js';
import { deriveRequestSealKey } from '../crypto/request-seal.js';
import { defaultModelPath } from '../inference/model-source.js';

export interface CoordinatorOptions {
  temporal: { address: string; namespace: string };
  databaseUrl: string;
  /** A client to share (e.g. with the demo in `parallelix start`); the coordinator then leaves it open. */
  db?: PrismaClient;
  chain: {
    rpcUrl: string;
    chainId: number;
    registryAddress: Address;
    /** The account this coordinator anchors from; no other coordinator process may use it at the same time. */
    anchorerPrivateKey: Hex;
    /**
     * Local dev chain only: when anchorerPrivateKey is held by another coordinator process, take the first free key
     * of this pool instead (the local stack authorises them all on its registry).
     */
    localAnchorerPool?: readonly Hex[];
    confirmations?: number;
  };
  policy?: CoordinatorPolicy;
  health?: Partial<NodeHealthSettings>;
  /** Folder of the coordinator's key files (box key pair, codec key). Default `<state>/coordinator`, the box key pair at PARALLELIX_COORDINATOR_KEY_FILE when set. */
  keyDir?: string;
  /** Step timings, outcomes, verdicts, penalties and anchoring transactions go here (createCoordinatorMetrics). */
  metrics?: CoordinatorMetrics;
  /** Workflow tasks and local activities in flight. */
  maxConcurrentWorkflowTasks?: number;
  /**
   * Replaces the encrypting data converter. Tests only: the no-plaintext check proves that it bites by running
   * a coordinator without the codec. Never set in production.
   */
  dataConverter?: DataConverter;
  /** The coordinator's token counter; default: tokenizers from the local models folder (PARALLELIX_MODEL_PATH). */
  tokens?: TokenCounter;
}

export interface RunningCoordinator {
  worker: Worker;
  coordinatorBoxPublicKey: string;
  /** The account this process anchors from. */
  anchorer: Address;
  /** Releases holds of closed, unsettled runs every policy.holdSweep.intervalMs. */
  sweeper: RunningSweeper;
  /** Resolves when the worker has stopped; rejects if it failed. */
  done: Promise<void>;
  stop(): Promise<void>;
}

/** The registry client this process anchors with, after checking the chain and that its account may anchor. */
async function anchoringRegistry(chain: CoordinatorOptions['chain'], privateKey: Hex): Promise<RegistryClient> {
  const registry = createRegistryClient({
    rpcUrl: chain.rpcUrl,
    chainId: chain.chainId,
    privateKey,
    address: chain.registryAddress,
    ...(chain.confirmations ? { confirmations: chain.confirmations } : {}),
  });
  await registry.verify();
  if (!(await registry.isAnchorer(registry.account))) {
    throw new NotAuthorisedAnchorerError(`account ${registry.account} may not anchor on registry ${chain.registryAddress}`, {
      details: 'The registry owner authorises it with `parallelix registry add-anchorer <address>`.',
    });
  }
  return registry;
}

export const WORKFLOWS_PATH = path.join(projectRoot, 'workflows', 'index.ts');

/**
 * The coordinator: one Temporal worker on the coordinator's task queue hosting the inference, registration and
 * health workflows and the coordinator's activities (credits, matching, sealing, verification, anchoring, settling).
 */
export async function startCoordinator(options: CoordinatorOptions): Promise<RunningCoordinator> {
  const logger = createLogger('coordinator');
  const keyDir = options.keyDir ?? coordinatorKeyDir();
  const identity = await loadOrCreateIdentity(options.keyDir ? path.join(keyDir, 'coordinator-key.json') : coordinatorKeyFile());
  const codecKey = loadOrCreateCodecKey(codecKeyFile(keyDir));
  const policy = options.policy ?? loadCoordinatorPolicy();
  // A bad allowlist fails the start (a clear message) rather than each registration later.
  await readNodeAllowlist(policy.nodeAllowlistFile);
  const db = options.db ?? createPrismaClient(options.databaseUrl);
  // One account per process, held for its lifetime (anchorer-lock.ts): no two processes share a nonce sequence.
  const claim = await claimAnchorer({
    databaseUrl: options.databaseUrl,
    chainId: options.chain.chainId,
    preferred: options.chain.anchorerPrivateKey,
    ...(options.chain.localAnchorerPool ? { pool: options.chain.localAnchorerPool } : {}),
  });
  let registry: RegistryClient;
  let connection: NativeConnection | undefined;
  let clientConnection: Connection | undefined;
  let worker: Worker;
  let anchorBatches: AnchorGroupCommit;
  const coordinatorBoxPublicKey = toBase64(identity.box.publicKey);
  const coordinatorSignPublicKey = toBase64(identity.sign.publicKey);
  const requestSealKey = deriveRequestSealKey(codecKey);
  const tokens = options.tokens ?? createTokenCounter({ modelPath: defaultModelPath(), logger });
  try {
    registry = await anchoringRegistry(options.chain, claim.privateKey);
    // Batched anchoring sends from the same claimed account (its own nonce sequence, this process only).
    // Also with batching off (PARALLELIX_ANCHOR_BATCH_MAX=0): a batch planned before a restart with batching off must
    // still be sent as planned, never its records one by one.
    anchorBatches = createAnchorGroupCommit(
      createBatchAnchorer({ rpcUrl: options.chain.rpcUrl, chainId: options.chain.chainId, privateKey: claim.privateKey, address: options.chain.registryAddress, ...(options.chain.confirmations ? { confirmations: options.chain.confirmations } : {}) }),
      { maxBatch: Math.max(1, policy.anchorBatchMax), beforeSend: (plan) => recordPlannedBatch(db, plan) },
    );
    const plain = {
      ...createCoordinatorActivities({ db, registry, identity, policy, logger, requestSealKey, tokens, anchorBatches }),
      ...createRegistrationActivities({
        db,
        logger,
        coordinatorBoxPublicKey,
        coordinatorSignPublicKey,
        allowlistFile: policy.nodeAllowlistFile,
        ...(options.health ? { health: options.health } : {}),
      }),
    };
    const activities = options.metrics ? instrumentActivities(plain, options.metrics) : plain;
    connection = await NativeConnection.connect({ address: options.temporal.address, ...temporalConnectionSecurity(), ...temporalGrpcCompression() });
    worker = await Worker.create({
      connection,
      namespace: options.temporal.namespace,
      taskQueue: COORDINATOR_TASK_QUEUE,
      workflowsPath: WORKFLOWS_PATH,
      activities,
      dataConverter: options.dataConverter ?? coordinatorDataConverter(codecKey, identity.box),
      maxConcurrentWorkflowTaskExecutions: options.maxConcurrentWorkflowTasks ?? 40,
      maxConcurrentLocalActivityExecutions: 64,
    });
    clientConnection = await Connection.connect({ address: options.temporal.address, ...temporalConnectionSecurity() });
  } catch (error) {
    await connection?.close().catch(() => undefined);
    await clientConnection?.close().catch(() => undefined);
    await claim.release();
    if (!options.db) await disconnect(db).catch(() => undefined);
    throw error;
  }
  const workerConnection = connection;
  const sweeperConnection = clientConnection;
  // Every coordinator process sweeps; releases are idempotent, so several sweeping at once is safe.
  const sweeper = startHoldSweeper({
    db,
    workflows: new Client({ connection: sweeperConnection, namespace: options.temporal.namespace }).workflow,
    registry,
    batchOnChain: anchorBatches.isOnChain,
    logger,
    ...policy.holdSweep,
    ...(options.metrics ? { metrics: options.metrics } : {}),
  });
  let lostClaim: Error | undefined;
  void claim.lost.then((error) => {
    // Without the claim another process may take this account: stop anchoring rather than race its nonces.
    lostClaim = error;
    logger.error({ err: error.message, anchorer: registry.account }, 'anchoring account claim lost; stopping the coordinator');
    if (worker.getState() === 'RUNNING') worker.shutdown();
  });
  const done = worker.run().finally(async () => {
    await sweeper.stop();
    await sweeperConnection.close().catch(() => undefined);
    await claim.release();
    await workerConnection.close().catch(() => undefined);
    if (!options.db) await disconnect(db).catch(() => undefined);
  }).then(() => {
    if (lostClaim) throw new ProvisioningError('the coordinator lost its anchoring account claim', { details: lostClaim.message, cause: lostClaim });
  });
  logger.info({ taskQueue: COORDINATOR_TASK_QUEUE, namespace: options.temporal.namespace, anchorer: registry.account }, 'coordinator worker running');
  return {
    worker,
    coordinatorBoxPublicKey,
    anchorer: registry.account,
    sweeper,
    done,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
