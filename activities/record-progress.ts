import type { CoordinatorDeps } from './deps.js';
import { ledgerUsage } from './settle.js';

/** Moves the request row along the lifecycle (steps 11 and 13): what `nodes`/`audit` and operators read. */
export function createRecordProgress({ db }: CoordinatorDeps) {
  return async function recordProgress(input: {
    requestId: string;
    step: number;
    status: 'SAMPLED' | 'RETURNED';
    usage?: { inputTokens: number; outputTokens: number };
  }): Promise<void> {
    // Clamped like Settle's: step 13 retries until done, so no count may make the write fail.
    const usage = input.usage ? ledgerUsage(input.usage) : undefined;
    await db.inferenceRequest.update({
      where: { requestId: input.requestId },
      data: {
        status: input.status,
        step: input.step,
        ...(usage ? { tokensIn: usage.inputTokens, tokensOut: usage.outputTokens } : {}),
        ...(input.status === 'RETURNED' ? { completedAt: new Date() } : {}),
      },
    });
  };
}
