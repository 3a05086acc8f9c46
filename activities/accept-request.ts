import { z } from 'zod';
import type { PipelineSettings } from '../src/coordinator/config.js';
import { maxCost, promptTokenUpperBound } from '../src/coordinator/pricing.js';
import type { InferenceWorkflowInput } from '../src/protocol/inference.js';
import type { CoordinatorDeps } from './deps.js';
import { FailureType, nonRetryable } from './failures.js';

const inputSchema = z.object({
  userId: z.string().min(1).max(200),
  model: z.string().min(1).max(200),
  messages: z
    .array(z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() }))
    .min(1),
  maxNewTokens: z.number().int().positive().max(1_000_000),
  sampleProbability: z.number().min(0).max(1).optional(),
});

export interface AcceptedRequest {
  maxCost: number;
  promptTokenBound: number;
  settings: PipelineSettings;
}

/** Step 01: check the request's shape (the SDK checks it too) and price its worst case. No state is written. */
export function createAcceptRequest({ policy }: CoordinatorDeps) {
  return async function acceptRequest(input: InferenceWorkflowInput): Promise<AcceptedRequest> {
    const parsed = inputSchema.safeParse(input);
    if (!parsed.success) {
      throw nonRetryable(FailureType.invalidRequest, `invalid request: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
    }
    const promptTokenBound = promptTokenUpperBound(parsed.data.messages);
    return {
      maxCost: maxCost(policy.price, promptTokenBound, parsed.data.maxNewTokens),
      promptTokenBound,
      settings: {
        ...policy.pipeline,
        sampleProbability: parsed.data.sampleProbability ?? policy.pipeline.sampleProbability,
      },
    };
  };
}
