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

const TOPICS = [
  'the water cycle', 'compound interest', 'photosynthesis', 'the French Revolution', 'black holes', 'sourdough bread',
  'electric cars', 'the immune system', 'plate tectonics', 'jazz music', 'machine learning', 'the Roman Empire',
  'coffee brewing', 'solar panels', 'honey bees', 'the stock market', 'volcanoes', 'chess openings', 'climate change',
  'the printing press', 'marathon training', 'quantum computing', 'coral reefs', 'the Silk Road', 'vaccines',
  'composting', 'the moon landing', 'public transport', 'origami', 'the human heart', 'recycling plastic',
  'renaissance painting', 'wind turbines', 'sleep hygiene', 'ancient Egypt', 'rainforests', 'blockchains',
  'the Olympic Games', 'cheese making', 'earthquakes',
];
const ASKS = [
  (t: string) => `Explain ${t} to a ten-year-old.`,
  (t: string) => `Give me three surprising facts about ${t}.`,
  (t: string) => `Write a short poem about ${t}.`,
  (t: string) => `What are the main arguments for and against ${t}?`,
  (t: string) => `Summarise the history of ${t} in two sentences.`,
  (t: string) => `How would you teach ${t} in a one-hour class?`,
  (t: string) => `List common misconceptions about ${t}.`,
  (t: string) => `Write a tweet announcing a documentary on ${t}.`,
  (t: string) => `What question about ${t} do experts still debate?`,
  (t: string) => `Describe ${t} using only simple words.`,
  (t: string) => `Compare ${t} with something from everyday life.`,
  (t: string) => `Draft an exam question about ${t}.`,
  (t: string) => `What should a beginner read first about ${t}?`,
  (t: string) => `Tell a one-paragraph story that involves ${t}.`,
  (t: string) => `Why does ${t} matter today?`,
  (t: string) => `Give a step-by-step overview of ${t}.`,
  (t: string) => `What are the risks related to ${t}?`,
  (t: string) => `Invent a quiz with two questions on ${t}.`,
  (t: string) => `Explain ${t} in exactly three bullet points.`,
  (t: string) => `What would change if ${t} had never existed?`,
  (t: string) => `Write a haiku about ${t}.`,
  (t: string) => `Translate a sentence about ${t} into French.`,
  (t: string) => `Name two famous people connected to ${t}.`,
  (t: string) => `What numbers best describe ${t}?`,
  (t: string) => `Argue in one sentence that ${t} is overrated.`,
  (t: string) => `How is ${t} measured or studied?`,
  (t: string) => `What is a good analogy for ${t}?`,
  (t: string) => `Describe the future of ${t} in 2050.`,
  (t: string) => `Write a limerick about ${t}.`,
  (t: string) => `What jobs involve ${t}?`,
];

/** `count` distinct chat requests (topics × phrasings, then numbered variants), for sampling calibration. */
export function distinctPrompts(count: number): ChatMessage[][] {
  const prompts: ChatMessage[][] = [];
  for (let i = 0; prompts.length < count; i += 1) {
    const topic = TOPICS[i % TOPICS.length]!;
    const ask = ASKS[Math.floor(i / TOPICS.length) % ASKS.length]!;
    const round = Math.floor(i / (TOPICS.length * ASKS.length));
    prompts.push([system, { role: 'user', content: ask(topic) + (round > 0 ? ` (variant ${round})` : '') }]);
  }
  return prompts;
}
