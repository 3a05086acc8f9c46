import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { COORDINATOR_TASK_QUEUE } from '../src/protocol/task-queues.js';
import type { InferenceResult, InferenceWorkflowInput } from '../src/protocol/inference.js';
import { TEST_MODEL, type TestNetwork } from '../test/helpers/network.js';
import { promptAt } from './prompts.js';
import { closedLoop } from './closed-loop.js';

export interface CompletedRequest {
  index: number;
  /** Client-observed: workflow.start() to result(), ms. */
  latencyMs: number;
  result: InferenceResult;
  handle: WorkflowHandle;
}

export interface BatchResult {
  requests: CompletedRequest[];
  /** Requests the coordinator turned away at step 03 (every capable node at its in-flight cap): load shedding. */
  rejected: number;
  wallMs: number;
}

export interface BatchOptions {
  userId: string;
  count: number;
  concurrency: number;
  maxNewTokens: number;
  sampleProbability?: number;
  sampleMode?: 'exact' | 'tolerant';
  /** Offset into the prompt list, so batches do not always start with the same prompt. */
  promptOffset?: number;
  /** Count NO_CAPABLE_NODE rejections instead of failing (throughput runs past the nodes' capacity). */
  allowRejections?: boolean;
}

export const REJECTED = 'NO_CAPABLE_NODE';

function isRejection(error: unknown): boolean {
  return error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure && error.cause.type === REJECTED;
}

/** Submits one request the way the platform does and waits for its result. */
export async function runRequest(network: TestNetwork, index: number, options: BatchOptions): Promise<CompletedRequest> {
  const input: InferenceWorkflowInput = {
    userId: options.userId,
    model: TEST_MODEL,
    messages: promptAt(index + (options.promptOffset ?? 0)),
    maxNewTokens: options.maxNewTokens,
    ...(options.sampleProbability !== undefined ? { sampleProbability: options.sampleProbability } : {}),
    ...(options.sampleMode !== undefined ? { sampleMode: options.sampleMode } : {}),
  };
  const started = performance.now();
  const handle = await network.client.workflow.start('inferenceWorkflow', {
    taskQueue: COORDINATOR_TASK_QUEUE,
    workflowId: `bench-${randomUUID()}`,
    args: [input],
  });
  const result = (await handle.result()) as InferenceResult;
  return { index, latencyMs: performance.now() - started, result, handle };
}

/** `count` requests with at most `concurrency` in flight (closed loop: each slot submits its next as one finishes). */
export async function runBatch(network: TestNetwork, options: BatchOptions): Promise<BatchResult> {
  const requests: CompletedRequest[] = [];
  let rejected = 0;
  const started = performance.now();
  await closedLoop(options.count, options.concurrency, async (index) => {
    try {
      requests.push(await runRequest(network, index, options));
    } catch (error) {
      if (!options.allowRejections || !isRejection(error)) throw error;
      rejected += 1;
    }
  });
  return { requests: requests.sort((a, b) => a.index - b.index), rejected, wallMs: performance.now() - started };
}
