import { InvalidInputError } from '../shared/errors.js';
import { MaxNewTokensExceededError, PromptTooLongError } from './errors.js';

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

const ROLES = new Set<string>(['system', 'user', 'assistant']);

export function validateMessages(messages: unknown): asserts messages is ChatMessage[] {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new InvalidInputError('messages must be a non-empty array');
  }
  for (const [i, m] of messages.entries()) {
    const msg = m as Partial<ChatMessage> | null;
    if (typeof msg !== 'object' || msg === null || !ROLES.has(String(msg.role)) || typeof msg.content !== 'string') {
      throw new InvalidInputError(`messages[${i}] must be { role: system|user|assistant, content: string }`);
    }
  }
}

export function validateMaxNewTokens(maxNewTokens: unknown, limit: number): asserts maxNewTokens is number {
  if (typeof maxNewTokens !== 'number' || !Number.isInteger(maxNewTokens) || maxNewTokens < 1) {
    throw new InvalidInputError('maxNewTokens must be a positive integer');
  }
  if (maxNewTokens > limit) throw new MaxNewTokensExceededError(maxNewTokens, limit);
}

export function checkContext(inputTokens: number, maxNewTokens: number, maxContextTokens: number): void {
  if (inputTokens + maxNewTokens > maxContextTokens) {
    throw new PromptTooLongError(inputTokens, maxNewTokens, maxContextTokens);
  }
}
