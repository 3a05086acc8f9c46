/**
 * The coordinator's own token count per request (issue 10: usage is counted, not told): what steps 01 and 10 add
 * to a coordinator process. Per request: the prompt counted with the model's chat template (step 01) and the answer's
 * ids decoded and compared with the PoE'd text (step 10), with the tokenizer already loaded (it loads once per model).
 *   npx tsx bench/token-count.ts [--repeats N] [--output-ids N]
 * Prints JSON: tokenizer load time, then per prompt kind the wall time (median, p95) and CPU time (mean) per request.
 */
import { performance } from 'node:perf_hooks';
import { createTokenCounter } from '../src/inference/token-counter.js';
import { defaultModelPath } from '../src/inference/model-source.js';
import { normalizeConversation } from '../src/protocol/conversation.js';
import type { ChatMessage } from '../src/protocol/inference.js';
import { TEST_MODEL } from '../test/helpers/network.js';
import { BENCH_PROMPTS } from './prompts.js';
import { distribution } from './stats.js';

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

const repeats = arg('repeats', 300);
const outputIds = arg('output-ids', 32);
const quiet = { info: () => undefined, warn: () => undefined };
const tokens = createTokenCounter({ modelPath: defaultModelPath(), logger: quiet });

const loadStarted = performance.now();
await tokens.countPrompt(TEST_MODEL, BENCH_PROMPTS[0]!);
const loadMs = performance.now() - loadStarted;

const long: ChatMessage[] = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: `Summarise the following notes.\n${'The quarterly review covered revenue, hiring, and the roadmap for next year. '.repeat(60)}` },
];
const kinds: Array<[string, ChatMessage[][]]> = [
  ['chat (bench prompts, ~40 tokens)', BENCH_PROMPTS],
  ['long (~1,000 tokens)', [long]],
];
// A plausible answer's ids (the decode cost depends on their number, not their values).
const ids = Array.from({ length: outputIds }, (_, i) => 1000 + ((i * 7919) % 20000));

const results = [];
for (const [kind, prompts] of kinds) {
  const wall: number[] = [];
  let promptTokens = 0;
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < repeats; i += 1) {
    // Each request a distinct text (a request number appended), as real traffic is: no whole-prompt cache hit.
    const base = prompts[i % prompts.length]!;
    const messages = normalizeConversation(base.map((m, j) => (j === base.length - 1 ? { ...m, content: `${m.content} (request ${i})` } : m)));
    const started = performance.now();
    promptTokens = (await tokens.countPrompt(TEST_MODEL, messages)) ?? 0;
    await tokens.decode(TEST_MODEL, ids);
    wall.push(performance.now() - started);
  }
  const cpu = process.cpuUsage(cpuStart);
  const w = distribution(wall);
  results.push({
    kind,
    promptTokensLast: promptTokens,
    outputIds,
    requests: repeats,
    wallMsP50: Number(w.p50.toFixed(3)),
    wallMsP95: Number(w.p95.toFixed(3)),
    cpuMsPerRequest: Number(((cpu.user + cpu.system) / 1000 / repeats).toFixed(3)),
  });
}
process.stdout.write(`${JSON.stringify({ model: TEST_MODEL, tokenizerLoadMs: Math.round(loadMs), results }, null, 2)}\n`);
