import type { ChatMessage, TokenUsage } from '../protocol/inference.js';

/** Credits per token for a model, in micro-credits (integers only). */
export interface ModelPrice {
  inputPerToken: number;
  outputPerToken: number;
}

/** Tokens a chat template adds around each message and at the end, bounded generously. */
const TEMPLATE_TOKENS_PER_MESSAGE = 16;
const TEMPLATE_TOKENS_FIXED = 16;

/**
 * Upper bound of the prompt's token count without a tokenizer: byte-level BPE and SentencePiece with byte
 * fallback never emit more tokens than UTF-8 bytes, plus the template's own tokens. Admit reserves against this
 * bound; Settle charges the tokens the node actually counted.
 */
export function promptTokenUpperBound(messages: ChatMessage[]): number {
  let tokens = TEMPLATE_TOKENS_FIXED;
  for (const message of messages) tokens += Buffer.byteLength(message.content, 'utf8') + TEMPLATE_TOKENS_PER_MESSAGE;
  return tokens;
}

export function maxCost(price: ModelPrice, promptTokenBound: number, maxNewTokens: number): number {
  return promptTokenBound * price.inputPerToken + maxNewTokens * price.outputPerToken;
}

/** The metered cost: an integer between 0 and what was held, whatever the counts. */
export function actualCost(price: ModelPrice, usage: TokenUsage, held: number): number {
  const metered = usage.inputTokens * price.inputPerToken + usage.outputTokens * price.outputPerToken;
  if (!Number.isFinite(metered) || metered <= 0) return 0;
  return Math.min(held, Math.floor(metered));
}
