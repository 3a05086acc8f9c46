import { defineQuery } from '@temporalio/workflow';
import type { RecordMode, RecordScore, VerdictName } from './verdict.js';
import type { RequestSeal } from '../crypto/request-seal.js';
import type { InferencePayload } from './operator-wire.js';

export type ChatMessage = InferencePayload['messages'][number];

/** Arguments of one `inferenceWorkflow` run (encrypted in history by the coordinator's payload codec). */
export interface InferenceWorkflowInput {
  userId: string;
  model: string;
  messages: ChatMessage[];
  maxNewTokens: number;
  /** Overrides the coordinator's sample probability for this request (0..1); for operators' audits and tests. */
  sampleProbability?: number;
  /** Overrides the coordinator's sample mode for this request; for audits, tests and benchmarks. */
  sampleMode?: 'exact' | 'tolerant';
  /**
   * The platform's seal over the rest of this input and the workflow id (src/crypto/request-seal.ts), added by the
   * platform clients' interceptor (src/sdk/request-seal-interceptor.ts). Step 01 refuses a run without a valid one.
   */
  platformSeal?: RequestSeal;
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

export interface InferenceResult {
  requestId: string;
  text: string;
  usage: TokenUsage;
  /** As the delivering node reported it: 'stop' (end of sequence) or 'length' (maxNewTokens reached). Absent in runs completed before it was recorded. */
  finishReason?: 'stop' | 'length';
  nodeId: string;
  poe: string;
  signature: string;
  sampled: boolean;
  sampledNodeIds: string[];
  verdict: VerdictName;
  /** How step 11 checked the result: none (not sampled), exact (re-generated) or tolerant (scored). */
  mode: RecordMode;
  /** Tolerant mode: node_j's score summary of node_i's answer (as anchored). */
  check?: RecordScore;
  /** Tolerant mode after a failed check: the third node's score of the same answer. */
  dispute?: RecordScore;
  anchorTx: string;
  anchorBlock: number;
  creditsCharged: number;
}

/** The fourteen steps, as they read in the Web UI and in the PipelineStep search attribute. */
export const PIPELINE_STEPS = [
  '01 Request',
  '02 Admit',
  '03 Match',
  '04 Encrypt',
  '05 Dispatch',
  '06 Decrypt',
  '07 Execute',
  '08 PoE',
  '09 Return',
  '10 Verify sig',
  '11 Sample',
  '12 Anchor',
  '13 Return result',
  '14 Settle',
] as const;

/**
 * What PipelineStep reads while a run whose anchor exhausted its retries waits for the chain (its hold kept):
 * search `PipelineStep = "12 Anchor · waiting for chain"` to list the runs an outage holds.
 */
export const ANCHOR_WAITING_STEP = '12 Anchor · waiting for chain';

export type PipelineStep = (typeof PIPELINE_STEPS)[number] | typeof ANCHOR_WAITING_STEP;

/** What the `status` query of a run answers. */
export interface RequestStatus {
  step: PipelineStep | 'Done' | 'Failed';
  requestId: string | null;
  nodeId: string | null;
  triedNodeIds: string[];
  /** Available from step 13 on: the verified result, for streaming to the caller. */
  resultAvailable: boolean;
}

/**
 * The inference workflow's type name and signature, shared by the workflow (workflows/inference-workflow.ts) and
 * its clients, which start it by this typed reference without loading workflow code.
 */
export const INFERENCE_WORKFLOW = 'inferenceWorkflow';
export type InferenceWorkflow = (input: InferenceWorkflowInput) => Promise<InferenceResult>;

/** Where the run is in the fourteen steps. */
export const statusQuery = defineQuery<RequestStatus>('status');
/** The verified text from offset `from`, or null while not yet available. */
export const resultChunkQuery = defineQuery<string | null, [number]>('resultChunk');
