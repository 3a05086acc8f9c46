import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import path from 'node:path';
import type { Hex, Address } from 'viem';
import { createCoordinatorActivities } from '../../activities/index.js';
import { createRegistrationActivities } from '../../activities/register-node.js';
import { createRegistryClient } from '../chain/registry.js';
import { loadOrCreateCodecKey } from '../codec/codec-key.js';
import { toBase64 } from '../crypto/encoding.js';
import { loadOrCreateIdentity } from '../crypto/identity.js';
import { createPrismaClient, disconnect, type PrismaClient } from '../db/client.js';
import type { NodeHealthSettings } from './node-health-settings.js';
import { COORDINATOR_TASK_QUEUE } from '../protocol/task-queues.js';
import { createLogger } from '../shared/logger.js';
import { projectRoot, stateDir } from '../shared/paths.js';
import { loadCoordinatorPolicy, type CoordinatorPolicy } from './config.js';
import { coordinatorDataConverter } from './data-converter.js';

export interface CoordinatorOptions {
  temporal: { address: string; namespace: string };
  databaseUrl: string;
  /** A client to share (e.g. with the demo in `parallelix start`); the coordinator then leaves it open. */
  db?: PrismaClient;
  chain: { rpcUrl: string; chainId: number; registryAddress: Address; anchorerPrivateKey: Hex; confirmations?: number };
  policy?: CoordinatorPolicy;
  health?: Partial<NodeHealthSettings>;
  /** Folder of the coordinator's key files (box key pair, codec key). Default `<state>/coordinator`. */
  keyDir?: string;
  /** Workflow tasks and local activities in flight. */
  maxConcurrentWorkflowTasks?: number;
  /**
   * Replaces the encrypting data converter. Tests only: the no-plaintext check proves that it bites by running
   * a coordinator without the codec. Never set in production.
   */
  dataConverter?: DataConverter;
}

export interface RunningCoordinator {
  worker: Worker;
  coordinatorBoxPublicKey: string;
  /** Resolves when the worker has stopped; rejects if it failed. */
  done: Promise<void>;
  stop(): Promise<void>;
}

export const WORKFLOWS_PATH = path.join(projectRoot, 'workflows', 'index.ts');

/**
 * The coordinator: one Temporal worker on the coordinator's task queue hosting the inference, registration and
 * health workflows and the coordinator's activities (credits, matching, sealing, verification, anchoring, settling).
 */
export async function startCoordinator(options: CoordinatorOptions): Promise<RunningCoordinator> {
  const logger = createLogger('coordinator');
  const keyDir = options.keyDir ?? path.join(stateDir(), 'coordinator');
  const identity = await loadOrCreateIdentity(path.join(keyDir, 'coordinator-key.json'));
  const codecKey = loadOrCreateCodecKey(path.join(keyDir, 'codec-key'));
  const policy = options.policy ?? loadCoordinatorPolicy();
  const db = options.db ?? createPrismaClient(options.databaseUrl);
  const registry = createRegistryClient({
    rpcUrl: options.chain.rpcUrl,
    chainId: options.chain.chainId,
    privateKey: options.chain.anchorerPrivateKey,
    address: options.chain.registryAddress,
    ...(options.chain.confirmations ? { confirmations: options.chain.confirmations } : {}),
  });
  await registry.verify();
  const coordinatorBoxPublicKey = toBase64(identity.box.publicKey);
  const activities = {
    ...createCoordinatorActivities({ db, registry, identity, policy, logger }),
    ...createRegistrationActivities({ db, logger, coordinatorBoxPublicKey, ...(options.health ? { health: options.health } : {}) }),
  };
  const connection = await NativeConnection.connect({ address: options.temporal.address });
  const worker = await Worker.create({
    connection,
    namespace: options.temporal.namespace,
    taskQueue: COORDINATOR_TASK_QUEUE,
    workflowsPath: WORKFLOWS_PATH,
    activities,
    dataConverter: options.dataConverter ?? coordinatorDataConverter(codecKey),
    maxConcurrentWorkflowTaskExecutions: options.maxConcurrentWorkflowTasks ?? 40,
    maxConcurrentLocalActivityExecutions: 64,
  });
  const done = worker.run().finally(async () => {
    await connection.close().catch(() => undefined);
    if (!options.db) await disconnect(db).catch(() => undefined);
  });
  logger.info({ taskQueue: COORDINATOR_TASK_QUEUE, namespace: options.temporal.namespace }, 'coordinator worker running');
  return {
    worker,
    coordinatorBoxPublicKey,
    done,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
