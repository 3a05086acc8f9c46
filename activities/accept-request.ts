import type { PipelineSettings } from '../src/coordinator/config.js';
import { maxCost, promptTokenUpperBound } from '../src/coordinator/pricing.js';
import type { InferenceWorkflowInput } from '../src/protocol/inference.js';
import { normalizeConversation } from '../src/protocol/conversation.js';
import { describeIssues, inferenceRequestSchema } from '../src/protocol/inference-input.js';
import type { CoordinatorDeps } from './deps.js';
import { FailureType, nonRetryable } from './failures.js';

export interface AcceptedRequest {
  maxCost: number;
  promptTokenBound: number;
  settings: PipelineSettings;
}

/** Step 01: check the request's shape (the SDK checks it too) and price its worst case. No state is written. */
export function createAcceptRequest({ policy }: CoordinatorDeps) {
  return async function acceptRequest(input: InferenceWorkflowInput): Promise<AcceptedRequest> {
    const parsed = inferenceRequestSchema.safeParse(input);
    if (!parsed.success) {
      throw nonRetryable(FailureType.invalidRequest, `invalid request: ${describeIssues(parsed.error)}`);
    }
    // Priced as dispatched: step 04 seals the normalised conversation (runs started without the SDK included).
    const promptTokenBound = promptTokenUpperBound(normalizeConversation(parsed.data.messages));
    return {
      maxCost: maxCost(policy.price, promptTokenBound, parsed.data.maxNewTokens),
      promptTokenBound,
      settings: {
        ...policy.pipeline,
        sampleProbability: parsed.data.sampleProbability ?? policy.pipeline.sampleProbability,
        sampleMode: parsed.data.sampleMode ?? policy.pipeline.sampleMode,
      },
    };
  };
}
