import { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Address, Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  ANVIL_DEPLOYER_PRIVATE_KEY,
  anvilDevPrivateKey,
  createRegistryClient,
  deployRegistry,
  startAnvil,
  type AnchoredRecord,
  type AnvilHandle,
} from '../../src/chain/index.js';
import { codecKeyFile, coordinatorKeyDir, loadOrCreateCodecKey } from '../../src/codec/codec-key.js';
import { loadCoordinatorPolicy, type CoordinatorPolicy } from '../../src/policy/coordinator-policy.js';
import { startCoordinator, type CoordinatorOptions, type RunningCoordinator } from '../../src/coordinator/coordinator.js';
import { coordinatorDataConverter } from '../../src/codec/data-converter.js';
import { approveNode } from '../../src/policy/node-admission.js';
import { EncryptionCodec } from '../../src/codec/encryption-codec.js';
import { loadOrCreateIdentity } from '../../src/crypto/identity.js';
import { platformClientInterceptors } from '../../src/sdk/request-seal-interceptor.js';
import { topUp } from '../../src/db/credits.js';
import { createPrismaClient, type PrismaClient } from '../../src/db/client.js';
import { crashAnvilKeepingMinedBlocks, rpcAnswers } from '../../src/chain/anvil.js';
import { getFreePort } from '../../src/shared/ports.js';
import { projectRoot } from '../../src/shared/paths.js';
import type { OperatorEndpoint } from '../../src/operator-endpoint/server.js';
import { startTestOperatorEndpoint } from './operator-endpoint.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { spawnCli, type CliProcess } from './cli-process.js';
import { waitFor } from './observe.js';
import { startTestCluster, startTestTemporal, type TestTemporal, type TestTemporalServer } from './temporal.js';
import { spawnOperator, type OperatorProcess } from '../operator/operator-process.js';

export const TEST_MODEL = 'tiny-random-LlamaForCausalLM-fp16';

/** A `parallelix coordinator` process of the network, anchoring from an account of its own. */
export interface CoordinatorProcess {
  /** Which anvil dev account it anchors from. */
  index: number;
  cli: CliProcess;
  pid: number;
  anchorer: Address;
  privateKey: Hex;
  metricsUrl: string;
}

/** A whole local network for end-to-end tests: real Temporal, PostgreSQL, anvil, coordinator and operator processes. */
export interface TestNetwork {
  temporal: TestTemporal<TestTemporalServer>;
  database: TestDatabase;
  db: PrismaClient;
  anvil: AnvilHandle;
  registryAddress: `0x${string}`;
  /** Where operators connect (in this process, in front of Temporal): they get no Temporal address. */
  operatorEndpoint: OperatorEndpoint;
  /** The in-process coordinator; null when the network runs coordinator processes instead. */
  coordinator: RunningCoordinator | null;
  coordinatorProcesses: CoordinatorProcess[];
  /** A client with the coordinator's codec, as the platform has. */
  client: Client;
  /** The coordinator's payload codec (for the no-plaintext history check). */
  codec: PayloadCodec;
  stateRoot: string;
  /** The coordinator's policy (restartCoordinator can run it with another). */
  policy: CoordinatorPolicy;
  operators: Map<string, { process: OperatorProcess; nodeId: string }>;
  /** Starts an operator process and (unless `approve: false`) admits its node, as the local stack does. */
  startOperator(name: string, extraEnv?: Record<string, string>, entry?: string, options?: { approve?: boolean }): Promise<string>;
  /** Environment for a `parallelix` process that works against this network (without the anchoring key). */
  cliEnv(): Record<string, string>;
  /** Stops the in-process coordinator and starts it again, optionally with other options (e.g. a data converter). */
  restartCoordinator(overrides?: Partial<CoordinatorOptions>): Promise<void>;
  /** Starts `parallelix coordinator` number `index` (1-based; its own anvil dev account, authorised here). */
  startCoordinatorProcess(index: number, extraEnv?: Record<string, string>): Promise<CoordinatorProcess>;
  /** Stops every coordinator, in-process or not (SIGINT: a clean stop). */
  stopCoordinators(): Promise<void>;
  fund(userId: string, amount: number): Promise<void>;
  /**
   * A chain outage (persistChain only): anvil stops mining and is SIGKILLed once a complete dump holds its last
   * block; transactions not yet mined are lost, as a crashed RPC node loses its mempool, but no mined block is.
   */
  killChain(): Promise<void>;
  /** anvil again on the same port from its persisted state. */
  restartChain(): Promise<void>;
  /** The request's ExecutionRecord as the registry contract holds it (null when none). */
  readOnChain(requestId: string): Promise<AnchoredRecord | null>;
  stop(): Promise<void>;
}

export interface TestNetworkOptions {
  policy?: Partial<CoordinatorPolicy['pipeline']>;
  operatorNames?: string[];
  /** The dev server (default), the Temporal server on PostgreSQL, or a server the caller runs (and stops). */
  temporal?: 'dev' | 'cluster' | TestTemporal<TestTemporalServer>;
  /** Run this many `parallelix coordinator` processes instead of the in-process coordinator. */
  coordinatorProcesses?: number;
  /** false: coordinator and client store payloads unencrypted (only to prove the no-plaintext check bites). */
  codec?: boolean;
  /** anvil persists its state to a file, so killChain/restartChain model a chain outage without losing blocks. */
  persistChain?: boolean;
  /** Batched anchoring (the in-process coordinator's policy.anchorBatchMax); default 0: one transaction per record. */
  anchorBatchMax?: number;
  /** The coordinators' policy.uptimeCacheMs, in process or not (0: every match reads the health samples). */
  uptimeCacheMs?: number;
  /**
   * Coordinator and operator processes write V8 CPU profiles (`node --cpu-prof`) into `<dir>/coordinator` and
   * `<dir>/operator`, each when it exits; stop() then stops operators with SIGTERM (a clean exit) instead of SIGKILL.
   */
  cpuProfileDir?: string;
}

/** Node flags of a child process of `role` (a CPU profile written on exit when asked for). */
function profileArgs(options: TestNetworkOptions, role: 'coordinator' | 'operator'): string[] {
  return options.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', path.join(options.cpuProfileDir, role)] : [];
}

/** The pipeline policy as the environment a coordinator process reads it from. */
function policyEnv(pipeline: CoordinatorPolicy['pipeline']): Record<string, string> {
  return {
    PARALLELIX_SAMPLE_PROBABILITY: String(pipeline.sampleProbability),
    PARALLELIX_MAX_NODES_TRIED: String(pipeline.maxNodesTried),
    PARALLELIX_DISPATCH_SCHEDULE_TO_START_SECONDS: String(pipeline.dispatchScheduleToStartSeconds),
    PARALLELIX_DISPATCH_TIMEOUT_SECONDS: String(pipeline.dispatchTimeoutSeconds),
    PARALLELIX_DISPATCH_HEARTBEAT_SECONDS: String(pipeline.dispatchHeartbeatSeconds),
    ...(pipeline.anchorAttempts ? { PARALLELIX_ANCHOR_ATTEMPTS: String(pipeline.anchorAttempts) } : {}),
  };
}

export async function startTestNetwork(options: TestNetworkOptions = {}): Promise<TestNetwork> {
  // What has started so far, stopped in reverse when a later start fails: a failed set-up leaves no server,
  // database or operator behind for the next test file to trip over.
  const started: Array<() => Promise<unknown>> = [];
  try {
    return await assembleTestNetwork(options, started);
  } catch (error) {
    for (const stop of started.reverse()) await stop().catch(() => undefined);
    throw error;
  }
}

async function assembleTestNetwork(options: TestNetworkOptions, started: Array<() => Promise<unknown>>): Promise<TestNetwork> {
  const stateRoot = mkdtempSync(path.join(os.tmpdir(), 'px-network-'));
  started.push(async () => rmSync(stateRoot, { recursive: true, force: true }));
  const [temporalStart, databaseStart] = await Promise.allSettled([
    typeof options.temporal === 'object' ? options.temporal : options.temporal === 'cluster' ? startTestCluster() : startTestTemporal(),
    createTestDatabase(),
  ]);
  if (temporalStart.status === 'fulfilled' && typeof options.temporal !== 'object') started.push(() => temporalStart.value.stop());
  if (databaseStart.status === 'fulfilled') started.push(() => databaseStart.value.drop());
  if (temporalStart.status === 'rejected') throw temporalStart.reason;
  if (databaseStart.status === 'rejected') throw databaseStart.reason;
  const temporal = temporalStart.value;
  const database = databaseStart.value;
  const anvilPort = await getFreePort();
  const anvilStateFile = options.persistChain ? path.join(stateRoot, 'anvil', 'state.json') : undefined;
  const anvil = await startAnvil({ port: anvilPort, ...(anvilStateFile ? { stateFile: anvilStateFile } : {}) });
  started.push(() => anvil.stop());
  const registry = await deployRegistry({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey: ANVIL_DEPLOYER_PRIVATE_KEY });
  // One owner client: its nonce manager orders the authorisations of coordinators started at once.
  const owner = createRegistryClient({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey: ANVIL_DEPLOYER_PRIVATE_KEY, address: registry.address });
  const db = createPrismaClient(database.url, { maxConnections: 4 });
  started.push(() => db.$disconnect());
  const operatorEndpoint = await startTestOperatorEndpoint(temporal.server);
  started.push(() => operatorEndpoint.close());
  const base = loadCoordinatorPolicy({});
  const policy: CoordinatorPolicy = {
    ...base,
    pipeline: { ...base.pipeline, dispatchHeartbeatSeconds: 10, ...options.policy },
    ...(options.anchorBatchMax !== undefined ? { anchorBatchMax: options.anchorBatchMax } : {}),
    ...(options.uptimeCacheMs !== undefined ? { uptimeCacheMs: options.uptimeCacheMs } : {}),
  };
  const keyDir = coordinatorKeyDir(stateRoot);
  const coordinatorOptions: CoordinatorOptions = {
    temporal: { address: temporal.server.address, namespace: temporal.server.namespace },
    databaseUrl: database.url,
    chain: { rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, registryAddress: registry.address, anchorerPrivateKey: ANVIL_DEPLOYER_PRIVATE_KEY },
    policy,
    health: { intervalMs: 2_000, probeScheduleToStartMs: 2_000 },
    keyDir,
    ...(options.codec === false ? { dataConverter: {} } : {}),
  };
  const codecKey = loadOrCreateCodecKey(codecKeyFile(keyDir));
  // The coordinator's key pair (created here first; coordinators started below load the same file): its box key
  // opens what operators seal to the coordinator.
  const coordinatorIdentity = await loadOrCreateIdentity(path.join(keyDir, 'coordinator-key.json'));
  // A coordinator that fails to start leaves the pieces above to the cleanup list; from here on, network.stop().
  const coordinator = options.coordinatorProcesses ? null : await startCoordinator(coordinatorOptions);
  const network: TestNetwork = {
    temporal,
    database,
    db,
    anvil,
    registryAddress: registry.address,
    operatorEndpoint,
    coordinator,
    coordinatorProcesses: [],
    client: new Client({
      connection: temporal.connection,
      namespace: temporal.server.namespace,
      ...(options.codec === false ? {} : { dataConverter: coordinatorDataConverter(codecKey, coordinatorIdentity.box) }),
      // The platform seals its requests whether or not payloads are encrypted.
      interceptors: platformClientInterceptors(codecKey),
    }),
    codec: new EncryptionCodec(codecKey, [], coordinatorIdentity.box),
    stateRoot,
    policy,
    operators: new Map(),
    async startOperator(name, extraEnv = {}, entry, { approve = true } = {}) {
      const proc = spawnOperator(
        {
          PARALLELIX_OPERATOR_ENDPOINT: operatorEndpoint.address,
          PARALLELIX_OPERATOR_NAME: name,
          PARALLELIX_STATE_DIR: stateRoot,
          PARALLELIX_MODEL: TEST_MODEL,
          PARALLELIX_OPERATOR_SHUTDOWN_GRACE_MS: '1000',
          ...extraEnv,
        },
        entry,
        profileArgs(options, 'operator'),
      );
      const { nodeId } = await proc.ready.catch(async (error: unknown) => {
        await proc.stop('SIGKILL');
        throw error;
      });
      network.operators.set(name, { process: proc, nodeId });
      if (approve) await approveNode(db, nodeId);
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
      await network.coordinator?.stop();
      network.coordinator = await startCoordinator({ ...coordinatorOptions, ...overrides });
    },
    readOnChain(requestId) {
      const reader = createRegistryClient({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, privateKey: ANVIL_DEPLOYER_PRIVATE_KEY, address: registry.address });
      return reader.readRecord(requestId);
    },
    async startCoordinatorProcess(index, extraEnv = {}) {
      const privateKey = anvilDevPrivateKey(index);
      const anchorer = privateKeyToAccount(privateKey).address;
      if (!(await owner.isAnchorer(anchorer))) await owner.addAnchorer(anchorer);
      const cli = spawnCli(['coordinator'], {
        ...network.cliEnv(),
        ...policyEnv(policy.pipeline),
        PARALLELIX_UPTIME_CACHE_SECONDS: String(policy.uptimeCacheMs / 1000),
        PARALLELIX_CHAIN_PRIVATE_KEY: privateKey,
        PARALLELIX_METRICS_PORT: '0',
        ...extraEnv,
      }, { nodeArgs: profileArgs(options, 'coordinator') });
      await cli.waitFor('coordinator ready').catch(async (error: unknown) => {
        cli.child.kill('SIGKILL');
        await cli.exited;
        throw error;
      });
      const metricsUrl = /coordinator metrics on (\S+)/.exec(cli.output())?.[1];
      if (!metricsUrl || cli.child.pid === undefined) throw new Error(`coordinator ${index} printed no metrics endpoint:\n${cli.output()}`);
      const started: CoordinatorProcess = { index, cli, pid: cli.child.pid, anchorer, privateKey, metricsUrl };
      network.coordinatorProcesses.push(started);
      return started;
    },
    async stopCoordinators() {
      await network.coordinator?.stop();
      network.coordinator = null;
      const running = network.coordinatorProcesses.splice(0);
      for (const { cli } of running) if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGINT');
      await Promise.all(running.map(({ cli }) => cli.exited));
    },
    async killChain() {
      if (!anvilStateFile) throw new Error('killChain needs startTestNetwork({ persistChain: true })');
      await crashAnvilKeepingMinedBlocks(network.anvil, anvilStateFile);
      await waitFor('anvil gone', async () => ((await rpcAnswers(network.anvil.rpcUrl)) ? undefined : true), 10_000, 100);
    },
    async restartChain() {
      if (!anvilStateFile) throw new Error('restartChain needs startTestNetwork({ persistChain: true })');
      network.anvil = await startAnvil({ port: anvilPort, stateFile: anvilStateFile });
    },
    async fund(userId, amount) {
      await topUp(db, userId, BigInt(amount), `test-topup-${userId}-${amount}-${Date.now()}`);
    },
    async stop() {
      await Promise.all([...network.operators.values()].map(({ process }) => process.stop(options.cpuProfileDir ? 'SIGTERM' : 'SIGKILL')));
      await network.stopCoordinators().catch(() => undefined);
      await operatorEndpoint.close();
      await db.$disconnect();
      await temporal.stop();
      await network.anvil.stop();
      await database.drop();
      rmSync(stateRoot, { recursive: true, force: true });
    },
  };
  started.splice(0, started.length, () => network.stop());
  // Concurrent first starts: they must agree on one coordinator key and one codec key.
  await Promise.all(Array.from({ length: options.coordinatorProcesses ?? 0 }, (_, i) => network.startCoordinatorProcess(i + 1)));
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
