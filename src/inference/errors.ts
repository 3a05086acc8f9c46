import { ParallelixError, type ParallelixErrorOptions } from '../shared/errors.js';

/** Prompt tokens (after the chat template) plus maxNewTokens exceed the context window. */
export class PromptTooLongError extends ParallelixError {
  override readonly code = 'PROMPT_TOO_LONG';
  constructor(
    readonly inputTokens: number,
    readonly maxNewTokens: number,
    readonly maxContextTokens: number,
  ) {
    super(`Prompt too long: ${inputTokens} input + ${maxNewTokens} new tokens > ${maxContextTokens} context tokens`);
  }
}

/** maxNewTokens is above this engine's limit. */
export class MaxNewTokensExceededError extends ParallelixError {
  override readonly code = 'MAX_NEW_TOKENS_EXCEEDED';
  constructor(
    readonly maxNewTokens: number,
    readonly limit: number,
  ) {
    super(`maxNewTokens ${maxNewTokens} exceeds the limit ${limit}`);
  }
}

/** The caller's AbortSignal fired; generation stopped. */
export class GenerationCancelledError extends ParallelixError {
  override readonly code = 'GENERATION_CANCELLED';
  constructor(
    /** Tokens generated before the stop (0 when cancelled while queued). */
    readonly outputTokens: number,
    options: ParallelixErrorOptions = {},
  ) {
    super(`Generation cancelled after ${outputTokens} tokens`, options);
  }
}

/** The model or tokenizer could not be loaded on any allowed device. */
export class ModelLoadError extends ParallelixError {
  override readonly code = 'MODEL_LOAD_FAILED';
}
