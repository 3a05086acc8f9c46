import type { ChatMessage } from './inference.js';

/** What joins the contents of messages merged into one. */
const JOIN = '\n\n';

/**
 * The one conversation shape every node's chat template is given, so any conversation OpenAI accepts is served
 * the same way on every node (sampled re-execution compares outputs, so this must be deterministic):
 * - every system message is joined, in order, into one leading system message (chat templates such as
 *   Llama 2's accept a system message only in first place);
 * - consecutive user (or assistant) messages are merged, so the turns alternate;
 * - a conversation of system messages only is served with their text as the user turn (a template renders no
 *   prompt at all for a system message alone).
 * Idempotent: a normalised conversation is returned unchanged.
 */
export function normalizeConversation(messages: readonly ChatMessage[]): ChatMessage[] {
  const system = messages.filter((m) => m.role === 'system').map((m) => m.content);
  const turns: ChatMessage[] = [];
  for (const message of messages) {
    if (message.role === 'system') continue;
    const last = turns.at(-1);
    if (last && last.role === message.role) last.content = `${last.content}${JOIN}${message.content}`;
    else turns.push({ role: message.role, content: message.content });
  }
  if (system.length === 0) return turns;
  const instructions = system.join(JOIN);
  if (turns.length === 0) return [{ role: 'user', content: instructions }];
  return [{ role: 'system', content: instructions }, ...turns];
}
