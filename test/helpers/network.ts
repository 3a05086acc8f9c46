import { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ANVIL_DEPLOYER_PRIVATE_KEY,
  createRegistryClient,
  deployRegistry,
  startAnvil,
  type AnchoredRecord,
  type AnvilHandle,
} from '../../src/chain/index.js';
import { loadOrCreateCodecKey } from '../../src/codec/codec-key.js';
import { loadCoordinatorPolicy, type CoordinatorPolicy } from '../../src/coordinator/config.js';
import { startCoordinator, type CoordinatorOptions, type RunningCoordinator } from '../../src/coordinator/coordinator.js';
import { coordinatorDataConverter } from '../../src/coordinator/data-converter.js';
import { EncryptionCodec } from '../../src/codec/encryption-codec.js';
import { topUp } from '../../src/db/credits.js';
import { createPrismaClient, type PrismaClient } from '../../src/db/client.js';
import { getFreePort } from '../../src/devstack/ports.js';
import { projectRoot } from '../../src/shared/paths.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { startTestTemporal, type TestTemporal } from './temporal.js';
import { spawnOperator, type OperatorProcess } from '../operator/operator-process.js';

export const TEST_MODEL = 'tiny-random-LlamaForCausalLM-fp16';

/** A whole local network for end-to-end tests: real Temporal, PostgreSQL, anvil, coordinator and operator processes. */
export interface TestNetwork {
  temporal: TestTemporal;
  database: TestDatabase;
  db: PrismaClient;
  anvil: AnvilHandle;
  registryAddress: `0x${string}`;
  coordinator: RunningCoordinator;
  /** A client with the coordinator's codec, as the platform has. */
  client: Client;
  /** The coordinator's payload codec (for the no-plaintext history check). */
  codec: PayloadCodec;
  stateRoot: string;
  /** The coordinator's policy (restartCoordinator can run it with another). */
  policy: CoordinatorPolicy;
  operators: Map<string, { process: OperatorProcess; nodeId: string }>;
  startOperator(name: string, extraEnv?: Record<string, string>, entry?: string): Promise<string>;
  /** Environment for a `parallelix` process that works against this network (without the anchoring key). */
  cliEnv(): Record<string, string>;
  /** Stops the in-process coordinator and starts it again, optionally with other options (e.g. a data converter). */
  restartCoordinator(overrides?: Partial<CoordinatorOptions>): Promise<void>;
  fund(userId: string, amount: number): Promise<void>;
  /** The request's ExecutionRecord as the registry contract holds it (null when none). */
  readOnChain(requestId: string): Promise<AnchoredRecord | null>;
  stop(): Promise<void>;
}

export interface TestNetworkOptions {
  policy?: Partial<CoordinatorPolicy['pipeline']>;
  operatorNames?: string[];
  /** false: coordinator and client store payloads unencrypted (only to prove the no-plaintext check bites). */
  codec?: boolean;
}

export async function startTestNetwork(options: TestNetworkOptions = {}): Promise<TestNetwork> {
  const stateRoot = mkdtempSync(path.join(os.tmpdir(), 'px-network-'));
  const [temporal, database] = await Promise.all([startTestTemporal(), createTestDatabase()]);
  const anvil = await startAnvil({ port: await getFreePort() });
  const registry = await deployRegistry({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey: ANVIL_DEPLOYER_PRIVATE_KEY });
  const db = createPrismaClient(database.url, { maxConnections: 4 });
  const base = loadCoordinatorPolicy({});
  const policy: CoordinatorPolicy = { ...base, pipeline: { ...base.pipeline, dispatchHeartbeatSeconds: 10, ...options.policy } };
  const keyDir = path.join(stateRoot, 'coordinator');
  const coordinatorOptions: CoordinatorOptions = {
    temporal: { address: temporal.server.address, namespace: temporal.server.namespace },
    databaseUrl: database.url,
    chain: { rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, registryAddress: registry.address, anchorerPrivateKey: ANVIL_DEPLOYER_PRIVATE_KEY },
    policy,
    health: { intervalMs: 2_000, probeScheduleToStartMs: 2_000 },
    keyDir,
    ...(options.codec === false ? { dataConverter: {} } : {}),
  };
  const codecKey = loadOrCreateCodecKey(path.join(keyDir, 'codec-key'));
  const network: TestNetwork = {
    temporal,
    database,
    db,
    anvil,
    registryAddress: registry.address,
    coordinator: await startCoordinator(coordinatorOptions),
    client: new Client({
      connection: temporal.connection,
      namespace: temporal.server.namespace,
      ...(options.codec === false ? {} : { dataConverter: coordinatorDataConverter(codecKey) }),
    }),
    codec: new EncryptionCodec(codecKey),
    stateRoot,
    policy,
    operators: new Map(),
    async startOperator(name, extraEnv = {}, entry) {
      const proc = spawnOperator(
        {
          PARALLELIX_TEMPORAL_ADDRESS: temporal.server.address,
          PARALLELIX_TEMPORAL_NAMESPACE: temporal.server.namespace,
          PARALLELIX_OPERATOR_NAME: name,
          PARALLELIX_STATE_DIR: stateRoot,
          PARALLELIX_MODEL: TEST_MODEL,
          PARALLELIX_OPERATOR_SHUTDOWN_GRACE_MS: '1000',
          ...extraEnv,
        },
        entry,
      );
      const { nodeId } = await proc.ready;
      network.operators.set(name, { process: proc, nodeId });
      return nodeId;
    },
    cliEnv() {
      return {
        PARALLELIX_STATE_DIR: stateRoot,
        PARALLELIX_TEMPORAL_ADDRESS: temporal.server.address,
        PARALLELIX_TEMPORAL_NAMESPACE: temporal.server.namespace,
        DATABASE_URL: database.url,
        PARALLELIX_CHAIN_RPC_URL: anvil.rpcUrl,
        PARALLELIX_CHAIN_ID: String(anvil.chainId),
        PARALLELIX_REGISTRY_ADDRESS: registry.address,
      };
    },
    async restartCoordinator(overrides = {}) {
      await network.coordinator.stop();
      network.coordinator = await startCoordinator({ ...coordinatorOptions, ...overrides });
    },
    readOnChain(requestId) {
      const reader = createRegistryClient({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey: ANVIL_DEPLOYER_PRIVATE_KEY, address: registry.address });
      return reader.readRecord(requestId);
    },
    async fund(userId, amount) {
      await topUp(db, userId, BigInt(amount), `test-topup-${userId}-${amount}-${Date.now()}`);
    },
    async stop() {
      await Promise.all([...network.operators.values()].map(({ process }) => process.stop('SIGKILL')));
      await network.coordinator.stop().catch(() => undefined);
      await db.$disconnect();
      await temporal.stop();
      await anvil.stop();
      await database.drop();
      rmSync(stateRoot, { recursive: true, force: true });
    },
  };
  for (const name of options.operatorNames ?? []) await network.startOperator(name);
  return network;
}

/**
 * A models folder where `alias` is another name for the test model, so that operators can serve a model id no
 * other node in the network serves (a network of their own inside the test network).
 */
export function modelAlias(stateRoot: string, alias: string): { model: string; modelPath: string; env: Record<string, string> } {
  const modelPath = path.join(stateRoot, 'model-aliases');
  mkdirSync(modelPath, { recursive: true });
  const link = path.join(modelPath, alias);
  // The models folder operators default to (src/inference/model-source.ts; not imported: it loads onnxruntime).
  const models = process.env.PARALLELIX_MODEL_PATH ?? path.join(projectRoot, '..', 'shared', 'models');
  if (!existsSync(link)) symlinkSync(path.resolve(models, TEST_MODEL), link);
  return { model: alias, modelPath, env: { PARALLELIX_MODEL: alias, PARALLELIX_MODEL_PATH: modelPath } };
}
