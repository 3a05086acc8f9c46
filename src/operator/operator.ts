import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, TemporalFailure, TimeoutFailure } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadOrCreateIdentity, signAnnouncement, type NodeIdentity, type OperatorCapabilities } from '../crypto/index.js';
import { resolveCpuThreads } from '../inference/cpu-threads.js';
import { createInferenceEngine, type InferenceEngine } from '../inference/engine.js';
import { OPERATOR_WIRE, type RegistrationInput, type RegistrationResult } from '../protocol/operator-wire.js';
import { REGISTRATION_WORKFLOW_TYPE, registrationWorkflowId, type RegistrationWorkflow } from '../protocol/operator-endpoint-wire.js';
import { COORDINATOR_TASK_QUEUE, nodeHealthTaskQueue, nodeTaskQueue } from '../protocol/task-queues.js';
import type { Registry } from 'prom-client';
import { generationRowsMetric, instrumentOperatorActivities } from './instrument-activities.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { createOperatorActivities, type OperatorActivities } from './activities.js';
import type { OperatorConfig } from './config.js';
import { endpointTls, keepSessionFresh, loginToEndpoint } from './endpoint-login.js';
import { RegistrationRefusedError } from './errors.js';
import { coordinatorPinFile, pinCoordinator, readCoordinatorPin, type CoordinatorPin } from './coordinator-pin.js';
import { operatorDataConverter } from './sealing-codec.js';
import { temporalGrpcCompression } from '../temporal/grpc-compression.js';
import { writeReadyFile } from '../shared/ready-file.js';

export interface RunOperatorOptions {
  /** Aborting stops polling, lets in-flight inferences finish (up to shutdownGraceMs) and returns. */
  signal?: AbortSignal;
  logger?: Logger;
  /** Where the operator's inference metrics go (the process's metrics endpoint). */
  metrics?: Registry;
  /** The process's metrics endpoint, reported in the ready file. */
  metricsUrl?: string;
  /** Called once both workers poll and the coordinator accepted the announcement. */
  onReady?: (info: OperatorReadyInfo) => void;
  /**
   * Test seams only (test/fixtures/faulty-operator.ts simulates dishonest or broken operators with them);
   * production code never sets them. wrapEngine sees the engine before it loads, wrapActivities the activities
   * before the workers host them.
   */
  wrapEngine?: (engine: InferenceEngine) => InferenceEngine;
  wrapActivities?: (activities: OperatorActivities, identity: NodeIdentity) => OperatorActivities;
}

export interface OperatorReadyInfo {
  nodeId: string;
  taskQueue: string;
  healthTaskQueue: string;
  device: 'webgpu' | 'cpu';
  loadMs: number;
  registration: RegistrationResult;
}

/** What an operator writes to its ready file (PARALLELIX_OPERATOR_READY_FILE) once it polls. */
export type OperatorReadyFile = Omit<OperatorReadyInfo, 'registration'> & { metricsUrl: string | null };

/** How long the operator waits for the coordinator to answer its announcement. */
const REGISTRATION_TIMEOUT = '2 minutes';
/** Probes are instant; a few slots let overlapping probes (retries after a timeout) through. */
const PROBE_SLOTS = 4;

function capabilitiesOf(config: OperatorConfig, engine: InferenceEngine): OperatorCapabilities {
  const info = engine.info();
  return {
    models: [config.model],
    dtype: config.dtype,
    engine: info.engine,
    device: info.device,
    maxContextTokens: info.maxContextTokens,
    maxNewTokens: info.maxNewTokensLimit,
    // Dispatches it holds at once: batched ones share a generation.
    concurrency: info.concurrency * info.batchMax,
  };
}

/** The innermost typed failure of a refused registration (workflow → activity → application failure). */
function refusal(error: unknown): RegistrationRefusedError | undefined {
  if (!(error instanceof WorkflowFailedError)) return undefined;
  let cause: unknown = error.cause;
  while (cause instanceof TemporalFailure && !(cause instanceof ApplicationFailure) && cause.cause) cause = cause.cause;
  if (cause instanceof TimeoutFailure) {
    return new RegistrationRefusedError(`the coordinator did not answer the announcement within ${REGISTRATION_TIMEOUT}`, {
      details: `is a coordinator worker polling task queue ${COORDINATOR_TASK_QUEUE}?`,
      cause: error,
    });
  }
  const failure = cause instanceof TemporalFailure ? cause : undefined;
  const type = failure instanceof ApplicationFailure ? failure.type : undefined;
  // The coordinator encrypts its failure messages (the operator has no key to read them): the type says what happened.
  const message = failure?.message && failure.message !== 'Encoded failure' ? `: ${failure.message}` : '';
  return new RegistrationRefusedError(`coordinator refused the announcement${type ? ` (${type})` : ''}${message}`, {
    cause: error,
  });
}

/** How this node reaches Temporal: the operator endpoint with its session token (a benchmark may go direct). */
interface TemporalAccess {
  address: string;
  tls: ReturnType<typeof endpointTls>;
  apiKey?: string;
  namespace: string;
}

function connectionOptions(access: TemporalAccess): { address: string; tls: TemporalAccess['tls']; apiKey?: string } {
  return { address: access.address, tls: access.tls, ...(access.apiKey ? { apiKey: access.apiKey } : {}) };
}

/** Starts its registration workflow through the operator endpoint (the one workflow it may start) and waits. */
async function register(
  access: TemporalAccess,
  identity: NodeIdentity,
  capabilities: OperatorCapabilities,
  dataConverter: ReturnType<typeof operatorDataConverter>,
): Promise<RegistrationResult> {
  const connection = await Connection.connect(connectionOptions(access));
  try {
    const client = new Client({ connection, namespace: access.namespace, dataConverter });
    const input: RegistrationInput = { wire: OPERATOR_WIRE, announcement: signAnnouncement(identity, capabilities) };
    try {
      return await client.workflow.execute<RegistrationWorkflow>(REGISTRATION_WORKFLOW_TYPE, {
        taskQueue: COORDINATOR_TASK_QUEUE,
        workflowId: registrationWorkflowId(identity.nodeId, Date.now()),
        workflowExecutionTimeout: REGISTRATION_TIMEOUT,
        args: [input],
      });
    } catch (error) {
      throw refusal(error) ?? error;
    }
  } finally {
    await connection.close();
  }
}

function stopWorker(worker: Worker): void {
  if (worker.getState() === 'RUNNING') worker.shutdown();
}

function abortedError(): Error {
  return new Error('operator stopped before it was ready');
}

/**
 * Runs one operator: identity (created on first start, 0600), model load, a worker on the node's inference
 * queue (executeInference, `concurrency` slots) and one on its health queue (probe), then the signed
 * announcement to the coordinator. Returns after `signal` aborts and the workers drained; throws if the
 * announcement is refused or a worker fails. Restarting re-announces with the same identity.
 */
export async function runOperator(config: OperatorConfig, options: RunOperatorOptions = {}): Promise<void> {
  const logger = options.logger ?? createLogger('operator');
  const { signal } = options;
  // Read (and checked) before the model loads: a bad setting stops the operator at once.
  const compression = temporalGrpcCompression();
  const identity = await loadOrCreateIdentity(config.keyFile);
  logger.info({ nodeId: identity.nodeId, keyFile: config.keyFile }, 'operator identity loaded');

  const threads = resolveCpuThreads({ intraOpThreads: config.intraOpThreads, spinning: config.intraOpSpinning, modelPath: config.modelPath, model: config.model, dtype: config.dtype });
  logger.info({ intraOpThreads: threads.intraOpThreads, spinning: threads.spinning, configured: config.intraOpThreads }, 'onnxruntime CPU threads');
  const baseEngine = createInferenceEngine({
    model: config.model,
    dtype: config.dtype,
    device: config.device,
    localModelPath: config.modelPath,
    maxContextTokens: config.maxContextTokens,
    maxNewTokensLimit: config.maxNewTokens,
    concurrency: config.concurrency,
    batchMax: config.batchMax,
    ...(options.metrics ? { onGeneration: generationRowsMetric(options.metrics) } : {}),
    intraOpThreads: threads.intraOpThreads,
    intraOpSpinning: threads.spinning,
    logger: createLogger('inference'),
    ...(config.testLogitNoise ? { logitNoise: config.testLogitNoise } : {}),
  });
  const engine = options.wrapEngine ? options.wrapEngine(baseEngine) : baseEngine;
  // The coordinator keys this node trusts (pinned at its first registration): dispatches must be signed by one,
  // results and failures are sealed to the other.
  const pinFile = coordinatorPinFile(config.keyFile);
  let pin: CoordinatorPin | undefined = await readCoordinatorPin(pinFile);
  const dataConverter = operatorDataConverter(() => pin?.boxPublicKey);
  let connection: NativeConnection | undefined;
  let stopRefresh: (() => void) | undefined;
  try {
    const loadMs = await engine.load(); // the engine logs one line with the device and why
    if (signal?.aborted) return;

    // The operator endpoint, never Temporal itself: the session token is the connection's API key.
    let access: TemporalAccess;
    if (config.testDirectTemporal) {
      access = { ...config.testDirectTemporal, tls: false };
    } else {
      const session = await loginToEndpoint(config.endpoint, identity);
      access = { address: config.endpoint.address, tls: endpointTls(config.endpoint), apiKey: session.token, namespace: session.namespace };
      const live = (connection = await NativeConnection.connect({ ...connectionOptions(access), ...compression }));
      stopRefresh = keepSessionFresh(config.endpoint, identity, session, (token) => live.setApiKey(token), logger);
    }
    connection ??= await NativeConnection.connect({ ...connectionOptions(access), ...compression });
    const honest = createOperatorActivities({ identity, engine, logger, coordinator: () => pin });
    const served = options.wrapActivities ? options.wrapActivities(honest, identity) : honest;
    const activities = options.metrics ? instrumentOperatorActivities(served, options.metrics) : served;
    const taskQueue = nodeTaskQueue(identity.nodeId);
    const healthTaskQueue = nodeHealthTaskQueue(identity.nodeId);
    const common = { connection, namespace: access.namespace, shutdownGraceTime: config.shutdownGraceMs, dataConverter };
    // Two queues: a probe must never wait behind inferences holding every inference slot.
    const inferenceWorker = await Worker.create({
      ...common,
      taskQueue,
      activities: { executeInference: activities.executeInference, scoreClaim: activities.scoreClaim },
      maxConcurrentActivityTaskExecutions: config.concurrency * config.batchMax,
      // Cancellation reaches an activity only in a heartbeat response: keep it prompt to free the device.
      maxHeartbeatThrottleInterval: '1 second',
    });
    const healthWorker = await Worker.create({
      ...common,
      taskQueue: healthTaskQueue,
      activities: { probe: activities.probe },
      maxConcurrentActivityTaskExecutions: PROBE_SLOTS,
    });
    const workers = [inferenceWorker, healthWorker];
    const stopAll = (): void => workers.forEach(stopWorker);
    // One worker failing takes the other down: a node half polling would pass probes it cannot serve.
    const running = Promise.all(workers.map((w) => w.run().catch((error: unknown) => (stopAll(), Promise.reject(error)))));
    const onAbort = (): void => {
      logger.info({ nodeId: identity.nodeId }, 'operator shutting down');
      stopAll();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal?.aborted) throw abortedError();
      const registration = await Promise.race([
        register(access, identity, capabilitiesOf(config, engine), dataConverter),
        running.then(() => Promise.reject(abortedError())),
      ]);
      pin = await pinCoordinator(pinFile, { signPublicKey: registration.coordinatorSignPublicKey, boxPublicKey: registration.coordinatorBoxPublicKey }, pin);
      const device = engine.info().device;
      process.stdout.write(`operator ${identity.nodeId} ready on task queue ${taskQueue} (model ${config.model}, device ${device}, load ${loadMs} ms)\n`);
      logger.info({ nodeId: identity.nodeId, taskQueue, healthTaskQueue, device, loadMs }, 'operator registered and polling');
      if (config.readyFile) {
        const ready: OperatorReadyFile = { nodeId: identity.nodeId, taskQueue, healthTaskQueue, device, loadMs, metricsUrl: options.metricsUrl ?? null };
        writeReadyFile(config.readyFile, ready);
      }
      options.onReady?.({ nodeId: identity.nodeId, taskQueue, healthTaskQueue, device, loadMs, registration });
    } catch (error) {
      stopAll();
      await running.catch(() => undefined);
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) return; // stopped while registering: a normal stop
      throw error;
    }
    try {
      await running;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    logger.info({ nodeId: identity.nodeId }, 'operator stopped');
  } finally {
    stopRefresh?.();
    await connection?.close().catch(() => undefined);
    await engine.dispose().catch(() => undefined);
  }
}
