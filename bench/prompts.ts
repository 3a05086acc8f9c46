import type { ChatMessage } from '../src/protocol/inference.js';

const system: ChatMessage = { role: 'system', content: 'You are a helpful assistant.' };

/** Everyday chat requests, the kind a user of the platform sends; the same list feeds the raw engine and the pipeline. */
export const BENCH_PROMPTS: ChatMessage[][] = [
  [system, { role: 'user', content: 'What is the capital of France? Answer in one sentence.' }],
  [system, { role: 'user', content: 'Write a haiku about autumn leaves falling in a quiet park.' }],
  [system, { role: 'user', content: 'Explain in two sentences why the sky is blue.' }],
  [system, { role: 'user', content: 'Give me three ideas for a quick vegetarian dinner tonight.' }],
  [
    system,
    { role: 'user', content: 'Summarise this: The meeting moved to Thursday at 10am because the projector in room B is broken.' },
  ],
  [system, { role: 'user', content: 'Translate "Where is the train station?" into Spanish and German.' }],
];

export function promptAt(i: number): ChatMessage[] {
  return BENCH_PROMPTS[i % BENCH_PROMPTS.length]!;
}
