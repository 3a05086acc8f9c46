import type { CoordinatorDeps } from './deps.js';

/** Moves the request row along the lifecycle (steps 10, 11, 13): what `nodes`/`audit` and operators read. */
export function createRecordProgress({ db }: CoordinatorDeps) {
  return async function recordProgress(input: {
    requestId: string;
    step: number;
    status: 'VERIFIED' | 'SAMPLED' | 'RETURNED';
    usage?: { inputTokens: number; outputTokens: number };
  }): Promise<void> {
    await db.inferenceRequest.update({
      where: { requestId: input.requestId },
      data: {
        status: input.status,
        step: input.step,
        ...(input.usage ? { tokensIn: input.usage.inputTokens, tokensOut: input.usage.outputTokens } : {}),
        ...(input.status === 'RETURNED' ? { completedAt: new Date() } : {}),
      },
    });
  };
}
