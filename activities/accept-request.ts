import { Context } from '@temporalio/activity';
import type { PipelineSettings } from '../src/policy/coordinator-policy.js';
import { maxCost, promptTokenUpperBound } from '../src/policy/pricing.js';
import { TemplateRefusedError } from '../src/inference/token-counter.js';
import { verifyRequestSeal } from '../src/crypto/request-seal.js';
import type { InferenceWorkflowInput } from '../src/protocol/inference.js';
import { normalizeConversation } from '../src/protocol/conversation.js';
import { describeIssues, inferenceRequestSchema } from '../src/protocol/inference-input.js';
import type { CoordinatorDeps } from './deps.js';
import { applicationFailure, FailureType } from '../src/protocol/failures.js';

export interface AcceptedRequest {
  maxCost: number;
  promptTokenBound: number;
  /**
   * The prompt's tokens as the coordinator counted them with the model's tokenizer (chat template applied): what
   * step 10 holds a node's count to. Absent when the coordinator has no local tokenizer of the model (and in runs
   * accepted before it was counted).
   */
  promptTokens?: number;
  settings: PipelineSettings;
}

/**
 * Step 01: check that the platform sealed this input for this run, its shape (the SDK checks it too) and that the
 * model's chat template takes it, then price its worst case. Nothing is held before this passes. A sealed input
 * copied from history and started again under its workflow id passes here and is refused by 02 before anything is
 * held (refuseCopiedInput): only there does the check cost no database round trip on the way every request takes.
 */
export function createAcceptRequest({ policy, requestSealKey, tokens }: Pick<CoordinatorDeps, 'policy' | 'requestSealKey' | 'tokens'>) {
  return async function acceptRequest(input: InferenceWorkflowInput): Promise<AcceptedRequest> {
    const workflowId = Context.current().info.workflowExecution?.workflowId ?? '';
    const { platformSeal, ...request } = (input ?? {}) as InferenceWorkflowInput;
    if (!verifyRequestSeal(requestSealKey, workflowId, request, platformSeal)) {
      throw applicationFailure(FailureType.REQUEST_NOT_AUTHENTIC, 'the request is not sealed by the platform: only platform clients (SDK, gateway, CLI) may start inference runs');
    }
    const parsed = inferenceRequestSchema.safeParse(request);
    if (!parsed.success) {
      throw applicationFailure(FailureType.INVALID_INPUT, `invalid request: ${describeIssues(parsed.error)}`);
    }
    // Priced and counted as dispatched: step 04 seals the normalised conversation (runs started without the SDK included).
    const messages = normalizeConversation(parsed.data.messages);
    let promptTokens: number | undefined;
    try {
      promptTokens = await tokens.countPrompt(parsed.data.model, messages);
    } catch (error) {
      if (error instanceof TemplateRefusedError) throw applicationFailure(FailureType.INVALID_INPUT, 'messages do not fit the model chat template');
      throw error;
    }
    const promptTokenBound = promptTokenUpperBound(messages);
    return {
      maxCost: maxCost(policy.price, promptTokenBound, parsed.data.maxNewTokens),
      promptTokenBound,
      ...(promptTokens === undefined ? {} : { promptTokens }),
      settings: {
        ...policy.pipeline,
        sampleProbability: parsed.data.sampleProbability ?? policy.pipeline.sampleProbability,
        sampleMode: parsed.data.sampleMode ?? policy.pipeline.sampleMode,
      },
    };
  };
}

/**
 * Step 01's replay rule, applied by 02 when its one statement changed nothing: a workflow id that already has its
 * request, admitted by another run, was started again with a sealed input copied from history (REQUEST_NOT_AUTHENTIC,
 * nothing held). A retried workflow task of the same run, after a coordinator crash between 02 and the task's
 * completion, finds its own request: that is no replay.
 */
export async function refuseCopiedInput(db: CoordinatorDeps['db'], workflowId: string, runId: string): Promise<void> {
  const admitted = await db.inferenceRequest.findUnique({ where: { workflowId }, select: { runId: true } });
  if (admitted && admitted.runId !== runId) {
    throw applicationFailure(FailureType.REQUEST_NOT_AUTHENTIC, 'this sealed request was already admitted once under this workflow id');
  }
}
