import { normalizeConversation } from '../../src/protocol/conversation.js';
import type { ChatMessage } from '../../src/protocol/inference.js';

const sys = (content: string): ChatMessage => ({ role: 'system', content });
const user = (content: string): ChatMessage => ({ role: 'user', content });
const bot = (content: string): ChatMessage => ({ role: 'assistant', content });

test('an alternating conversation with one leading system message is unchanged', () => {
  const messages = [sys('Be brief.'), user('Hi'), bot('Hello.'), user('Capital of France?')];
  expect(normalizeConversation(messages)).toEqual(messages);
  expect(normalizeConversation([user('Hi')])).toEqual([user('Hi')]);
});

test('consecutive same-role messages are merged in order', () => {
  expect(normalizeConversation([user('a'), user('b'), bot('c'), bot('d'), user('e')])).toEqual([user('a\n\nb'), bot('c\n\nd'), user('e')]);
});

test('every system message joins one leading system message, wherever it was', () => {
  expect(normalizeConversation([sys('one'), sys('two'), user('q')])).toEqual([sys('one\n\ntwo'), user('q')]);
  expect(normalizeConversation([user('q'), sys('late'), user('more')])).toEqual([sys('late'), user('q\n\nmore')]);
});

test('a system-only conversation is served with its text as the user turn', () => {
  expect(normalizeConversation([sys('Write a haiku.')])).toEqual([user('Write a haiku.')]);
  expect(normalizeConversation([sys('a'), sys('b')])).toEqual([user('a\n\nb')]);
});

test('normalising twice changes nothing, and the input is not mutated', () => {
  const input = [sys('s'), user('a'), user('b'), sys('t'), bot('c')];
  const copy = structuredClone(input);
  const once = normalizeConversation(input);
  expect(normalizeConversation(once)).toEqual(once);
  expect(input).toEqual(copy);
});
