import type { VerdictName } from '../protocol/verdict.js';
import type { ChatMessage, InferenceResult, PipelineStep, TokenUsage } from '../protocol/inference.js';

export type { ChatMessage, TokenUsage, VerdictName };

export interface SubmitRequest {
  /** The platform user whose off-chain credits pay for the request. */
  userId: string;
  /** Model id as offered by operator nodes. */
  model: string;
  /** Chat messages; the operator applies the model's chat template. */
  messages: ChatMessage[];
  maxNewTokens: number;
  /** The same key always reaches the same request: a retried submit is never charged twice. */
  idempotencyKey?: string;
  /** Per-request override of the coordinator's sample probability (0..1). */
  sampleProbability?: number;
  /** Per-request override of the coordinator's sample mode (exact re-generation or tolerant scoring). */
  sampleMode?: 'exact' | 'tolerant';
}

/** What a completed request returns: the verified text and the evidence of how it was produced and paid. */
export type SubmitResult = InferenceResult;

export interface RequestProgress {
  workflowId: string;
  step: PipelineStep | 'Done' | 'Failed';
  requestId: string | null;
  nodeId: string | null;
  /** Workflow state as Temporal reports it: RUNNING, COMPLETED, FAILED, … */
  state: string;
}
