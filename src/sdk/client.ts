import { createHash, randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { type CodecKey, codecKeyFile, loadOrCreateCodecKey } from '../codec/codec-key.js';
import { coordinatorDataConverter } from '../codec/data-converter.js';
import { normalizeConversation } from '../protocol/conversation.js';
import { platformClientInterceptors } from './request-seal-interceptor.js';
import { INFERENCE_WORKFLOW, statusQuery, type InferenceWorkflow } from '../protocol/inference.js';
import { describeIssues, inferenceRequestSchema } from '../protocol/inference-input.js';
import { COORDINATOR_TASK_QUEUE } from '../protocol/task-queues.js';
import { InvalidInputError } from '../shared/errors.js';
import { temporalConnectionSecurity, type TemporalConnectionSecurity } from '../temporal/connection-security.js';
import { IdempotencyKeyReusedError, toSdkError } from './errors.js';
import type { RequestProgress, SubmitRequest, SubmitResult } from './types.js';

export interface ParallelixClientOptions {
  /** Temporal frontend, default PARALLELIX_TEMPORAL_ADDRESS or 127.0.0.1:7233. */
  address?: string;
  /** Default PARALLELIX_TEMPORAL_NAMESPACE or `parallelix`. */
  namespace?: string;
  /** The coordinator's payload codec key; else loaded from `codecKeyFile` (default `<state>/coordinator/codec-key`). */
  codecKey?: CodecKey;
  codecKeyFile?: string;
  /** Reuse an existing connection (not closed by `close()`). */
  connection?: Connection;
  /** TLS and API key for the connection; default from PARALLELIX_TEMPORAL_TLS*, PARALLELIX_TEMPORAL_API_KEY. */
  security?: TemporalConnectionSecurity;
  /** `requestId()`'s first pause between queries while the run is not admitted yet (doubling, at most 2 s). Default 100 ms. */
  pollIntervalMs?: number;
}

export interface RequestHandle {
  readonly workflowId: string;
  /** The request id, once step 02 admitted the request (rejects with a typed error if it was refused). */
  requestId(): Promise<string>;
  status(): Promise<RequestProgress>;
  /** The verified result text once it is available (after steps 10–12 anchored it; one long-poll, no polling). */
  stream(): AsyncIterable<string>;
  result(): Promise<SubmitResult>;
}

export interface ParallelixClient {
  submit(request: SubmitRequest): Promise<RequestHandle>;
  /** A handle for a request submitted earlier (by workflow id). */
  handle(workflowId: string): RequestHandle;
  close(): Promise<void>;
}

const submitSchema = inferenceRequestSchema.extend({
  idempotencyKey: inferenceRequestSchema.shape.userId.optional(),
});

/** Same user + same idempotency key → same workflow id, so a retried submit reaches the same run. */
export function workflowIdFor(userId: string, idempotencyKey: string | undefined): string {
  if (!idempotencyKey) return `request-${randomUUID()}`;
  return `request-${createHash('sha256').update(`${userId}\0${idempotencyKey}`).digest('hex').slice(0, 32)}`;
}

/** Memo field of each run: what its idempotency key was first used for (encrypted by the codec like all payloads). */
const REQUEST_MEMO = 'parallelixRequest';

/** The part of a request an idempotency key is bound to: a different value under the same key is a conflict. */
interface RequestFingerprint {
  model: string;
  maxNewTokens: number;
  sampleProbability: number | null;
  messagesSha256: string;
}

type WorkflowInput = Omit<z.infer<typeof submitSchema>, 'idempotencyKey'>;

function fingerprintOf(input: WorkflowInput): RequestFingerprint {
  return {
    model: input.model,
    maxNewTokens: input.maxNewTokens,
    sampleProbability: input.sampleProbability ?? null,
    messagesSha256: createHash('sha256').update(JSON.stringify(input.messages.map((m) => [m.role, m.content]))).digest('hex'),
  };
}

/** Fields (SubmitRequest names) in which a run's recorded fingerprint differs; none for runs without one. */
function conflictingFields(recorded: unknown, current: RequestFingerprint): string[] {
  if (typeof recorded !== 'object' || recorded === null) return [];
  const first = recorded as Partial<RequestFingerprint>;
  const differs: string[] = [];
  if (first.model !== current.model) differs.push('model');
  if (first.messagesSha256 !== current.messagesSha256) differs.push('messages');
  if (first.maxNewTokens !== current.maxNewTokens) differs.push('maxNewTokens');
  if ((first.sampleProbability ?? null) !== current.sampleProbability) differs.push('sampleProbability');
  return differs;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** requestId() asks again after pollMs, doubling up to this (admission takes one workflow task; a queued run longer). */
const MAX_REQUEST_ID_POLL_MS = 2_000;

function createHandle(workflow: WorkflowHandle<InferenceWorkflow>, pollMs: number): RequestHandle {
  // One long-poll on the run's outcome per handle, shared by result() and stream(): no periodic query or describe.
  let outcome: Promise<SubmitResult> | undefined;
  const result = (): Promise<SubmitResult> => {
    outcome ??= workflow.result().catch((error: unknown) => {
      outcome = undefined; // a later call asks the server again (e.g. after a connection error)
      throw toSdkError(error);
    });
    return outcome;
  };
  return {
    workflowId: workflow.workflowId,
    result,
    async status() {
      const [description, status] = await Promise.all([workflow.describe(), workflow.query(statusQuery)]);
      return {
        workflowId: workflow.workflowId,
        step: status.step,
        requestId: status.requestId,
        nodeId: status.nodeId,
        state: description.status.name,
      };
    },
    async requestId() {
      // On demand only: a query, and while the run has not reached step 02 yet another one after a growing pause.
      let settledOutcome: Promise<SubmitResult | Error> | undefined;
      for (let wait = pollMs; ; wait = Math.min(wait * 2, MAX_REQUEST_ID_POLL_MS)) {
        const status = await workflow.query(statusQuery);
        if (status.requestId) return status.requestId;
        settledOutcome ??= result().catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
        const early = await Promise.race([settledOutcome, sleep(wait).then(() => null)]);
        if (early instanceof Error) throw early;
        if (early) return early.requestId;
      }
    },
    stream() {
      return {
        async *[Symbol.asyncIterator]() {
          // Steps 10–14 run in one workflow task of local activities, so the verified text (set at step 13, after the
          // anchor) and the run's completion become visible together: one long-poll on the result, no polling.
          const { text } = await result();
          if (text) yield text;
        },
      };
    },
  };
}

/**
 * The platform's client: submits inference requests (one workflow each) and follows them.
 *
 * @example
 * const px = await createParallelixClient();
 * const request = await px.submit({ userId: 'u1', model: 'tiny-random-LlamaForCausalLM-fp16',
 *   messages: [{ role: 'user', content: 'Hello' }], maxNewTokens: 32, idempotencyKey: 'order-42' });
 * for await (const chunk of request.stream()) process.stdout.write(chunk);
 * const { requestId, anchorTx, creditsCharged } = await request.result();
 */
export async function createParallelixClient(options: ParallelixClientOptions = {}): Promise<ParallelixClient> {
  const address = options.address ?? process.env.PARALLELIX_TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const namespace = options.namespace ?? process.env.PARALLELIX_TEMPORAL_NAMESPACE ?? 'parallelix';
  const key = options.codecKey ?? loadOrCreateCodecKey(options.codecKeyFile ?? codecKeyFile());
  const connection = options.connection ?? (await Connection.connect({ address, ...(options.security ?? temporalConnectionSecurity()) }));
  // Every request this client starts carries the platform's seal (step 01 refuses a run without one).
  const client = new Client({ connection, namespace, dataConverter: coordinatorDataConverter(key), interceptors: platformClientInterceptors(key) });
  const pollMs = options.pollIntervalMs ?? 100;

  return {
    async submit(request) {
      const parsed = submitSchema.safeParse(request);
      if (!parsed.success) throw new InvalidInputError(`invalid request: ${describeIssues(parsed.error)}`);
      const { idempotencyKey, ...fields } = parsed.data;
      // Every node's template gets the same shape (merged turns, one leading system message).
      const input: WorkflowInput = { ...fields, messages: normalizeConversation(fields.messages) };
      const workflowId = workflowIdFor(input.userId, idempotencyKey);
      const fingerprint = fingerprintOf(input);
      let workflow: WorkflowHandle<InferenceWorkflow>;
      try {
        workflow = await client.workflow.start<InferenceWorkflow>(INFERENCE_WORKFLOW, {
          taskQueue: COORDINATOR_TASK_QUEUE,
          workflowId,
          args: [input],
          memo: { [REQUEST_MEMO]: fingerprint },
          // A retried submit reaches the run already there, running or completed: never a second charge. A run that
          // failed charged nothing (refused at admission, no capable node, …), so the key is free again for a new run.
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        });
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
        workflow = client.workflow.getHandle<InferenceWorkflow>(workflowId);
      }
      if (idempotencyKey) {
        // The run behind the key may be another request's: the same key must not answer a different question.
        const differs = conflictingFields((await workflow.describe()).memo?.[REQUEST_MEMO], fingerprint);
        if (differs.length > 0) {
          throw new IdempotencyKeyReusedError(`idempotency key already used for a request with different ${differs.join(', ')}`, differs);
        }
      }
      return createHandle(workflow, pollMs);
    },
    handle(workflowId) {
      return createHandle(client.workflow.getHandle<InferenceWorkflow>(workflowId), pollMs);
    },
    async close() {
      if (!options.connection) await connection.close();
    },
  };
}
