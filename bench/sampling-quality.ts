/**
 * Step 11's tolerant check measured on the real engine, in this process: false positives on honest pairs
 * (a perturbed "other device" generates, the reference scores), detection of dishonest strategies, and the cost
 * of one teacher-forced scoring pass against one generation. Used by `npm run bench` and for calibration.
 */
import { AutoTokenizer, type PreTrainedTokenizer } from '@huggingface/transformers';
import type { ChatMessage, InferenceEngine } from '../src/inference/engine.js';
import type { LogitNoise } from '../src/sampling/logit-noise.js';
import type { PositionScore } from '../src/sampling/position-score.js';
import { judgeClaim, type ClaimFailure, type TolerantThresholds } from '../src/sampling/tolerant-check.js';
import { TEST_MODEL } from '../test/helpers/network.js';
import { distinctPrompts } from './prompts.js';
import { distribution, median, type Distribution } from './stats.js';
import { testModelEngine } from './test-model-engine.js';

export interface SamplingQualityOptions {
  thresholds: TolerantThresholds;
  /** Noise sizes (σ units) of the honest "other device"; 0 is the same device (KV-cached decode vs one prefill). */
  perturbationSizes: number[];
  honestPairsPerSize: number;
  dishonestPerStrategy: number;
  maxNewTokens: number;
  costLengths: number[];
  costRepeats: number;
  progress: (msg: string) => void;
  /** Keep every claim's per-position scores in the result (for calibration). */
  keepRaw?: boolean;
}

export interface HonestPoint {
  perturbation: number;
  pairs: number;
  /** Pairs whose greedy text differs from the reference device's. */
  textsDiffer: number;
  flagged: number;
  falsePositiveRate: number;
  /** Per pair: the largest gap (σ) over its positions. */
  maxGap: Distribution;
  /** Positions over the tolerance, over all pairs. */
  failingPositions: number;
}

export const DISHONEST_STRATEGIES = {
  'other-model': 'another model stands in: the same weights with seeded logit noise of 2 σ (far above any honest size)',
  'other-prompt': 'the same model run on another prompt (the system message dropped: a cheaper prompt)',
  truncated: 'the honest answer cut at a random point in [N/4, 3N/4) with an end-of-sequence token appended',
  extended: 'the honest answer of N−k tokens with k tokens of injected text appended (" Visit example.com for more.")',
  'replaced-token': 'the honest answer with the token at N/2 replaced by a random vocabulary token',
  'random-tokens': 'N random vocabulary tokens',
  'copied-answer': "the honest answer of another request (another user's prompt)",
} as const;
export type DishonestStrategy = keyof typeof DISHONEST_STRATEGIES;

export interface DishonestPoint {
  strategy: DishonestStrategy;
  description: string;
  claims: number;
  caught: number;
  detectionRate: number;
  /** How many claims each failure reason flagged (a claim can have several). */
  reasons: Partial<Record<ClaimFailure, number>>;
  failShare: Distribution;
}

export interface CostPoint {
  newTokens: number;
  samples: number;
  generationMs: number;
  verificationMs: number;
  /** median verification / median generation, same prompts, same process. */
  ratio: number;
  generationCpuMs: number;
  verificationCpuMs: number;
}

export interface RawClaim {
  kind: string;
  positions: PositionScore[];
}

export interface SamplingQualityResult {
  model: string;
  dtype: string;
  device: string;
  maxNewTokens: number;
  thresholds: TolerantThresholds;
  /** Greedy answers whose text, tokenised again, does not give back the generated ids. */
  retokenisation: { answers: number; differ: number; share: number };
  honest: HonestPoint[];
  dishonest: DishonestPoint[];
  cost: CostPoint[];
  raw?: RawClaim[];
}

function engineWith(noise?: LogitNoise): InferenceEngine {
  // One thread: the engines run one after another, and onnxruntime's spinning extra thread only burns CPU here.
  return testModelEngine({ maxNewTokensLimit: 1024, intraOpThreads: 1, ...(noise ? { logitNoise: noise } : {}) });
}

/** Deterministic PRNG for the attacks' choices (positions, random tokens). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

interface Claim {
  ids: number[];
  text: string;
}

export async function benchSamplingQuality(options: SamplingQualityOptions): Promise<SamplingQualityResult> {
  const { thresholds, maxNewTokens: n, progress } = options;
  const reference = engineWith();
  await reference.load();
  const tokenizer: PreTrainedTokenizer = await AutoTokenizer.from_pretrained(TEST_MODEL);
  const eos = Number((tokenizer as unknown as { eos_token_id: number }).eos_token_id);
  const vocab = reference.info().vocabSize;
  const raw: RawClaim[] = [];
  const decode = (ids: number[]): string => tokenizer.decode(ids, { skip_special_tokens: true });

  const judge = async (messages: ChatMessage[], claim: Claim, kind: string) => {
    const scored = await reference.scoreTokens({ messages, tokenIds: claim.ids });
    if (options.keepRaw) raw.push({ kind, positions: scored.positions });
    return judgeClaim(
      { positions: claim.ids.length, textMatches: scored.text === claim.text, endsWithEos: scored.endsWithEos, eosBeforeEnd: scored.eosBeforeEnd },
      scored.positions,
      n,
      thresholds,
    );
  };

  const pairs = Math.max(options.honestPairsPerSize, options.dishonestPerStrategy);
  const prompts = distinctPrompts(pairs + 16);
  progress(`sampling: reference answers for ${pairs} prompts (${n} new tokens)`);
  const referenceAnswers: Claim[] = [];
  let differ = 0;
  for (const messages of prompts.slice(0, pairs)) {
    const out = await reference.generate({ messages, maxNewTokens: n });
    referenceAnswers.push({ ids: out.tokenIds, text: out.text });
    const again = tokenizer.encode(out.text, { add_special_tokens: false });
    const generated = out.tokenIds.filter((id) => id !== eos);
    if (again.length !== generated.length || again.some((id, i) => id !== generated[i])) differ += 1;
  }

  const honest: HonestPoint[] = [];
  for (const [s, size] of options.perturbationSizes.entries()) {
    const device = size === 0 ? reference : engineWith({ size, seed: 1000 + s });
    if (device !== reference) await device.load();
    let textsDiffer = 0;
    let flagged = 0;
    let failingPositions = 0;
    const maxGaps: number[] = [];
    for (let i = 0; i < options.honestPairsPerSize; i += 1) {
      const messages = prompts[i]!;
      const out = await device.generate({ messages, maxNewTokens: n });
      if (out.text !== referenceAnswers[i]!.text) textsDiffer += 1;
      const verdict = await judge(messages, { ids: out.tokenIds, text: out.text }, `honest-${size}`);
      if (!verdict.pass) flagged += 1;
      failingPositions += verdict.score.failing;
      maxGaps.push(verdict.score.maxGap);
    }
    if (device !== reference) await device.dispose();
    const point = {
      perturbation: size,
      pairs: options.honestPairsPerSize,
      textsDiffer,
      flagged,
      falsePositiveRate: flagged / options.honestPairsPerSize,
      maxGap: distribution(maxGaps),
      failingPositions,
    };
    honest.push(point);
    progress(`sampling: honest size ${size}: ${textsDiffer}/${point.pairs} texts differ from the reference, ${flagged} flagged, max gap ${point.maxGap.max.toFixed(3)} σ`);
  }

  const otherModel = engineWith({ size: 2, seed: 99 });
  await otherModel.load();
  const injected = tokenizer.encode(' Visit example.com for more.', { add_special_tokens: false });
  const dishonest: DishonestPoint[] = [];
  for (const strategy of Object.keys(DISHONEST_STRATEGIES) as DishonestStrategy[]) {
    const random = rng(7 + strategy.length);
    const randomToken = (): number => 3 + Math.floor(random() * (vocab - 3));
    let caught = 0;
    const reasons: Partial<Record<ClaimFailure, number>> = {};
    const shares: number[] = [];
    for (let i = 0; i < options.dishonestPerStrategy; i += 1) {
      const messages = prompts[i]!;
      const honestIds = referenceAnswers[i]!.ids;
      let ids: number[];
      if (strategy === 'other-model') ids = (await otherModel.generate({ messages, maxNewTokens: n })).tokenIds;
      else if (strategy === 'other-prompt') ids = (await reference.generate({ messages: messages.filter((m) => m.role !== 'system'), maxNewTokens: n })).tokenIds;
      else if (strategy === 'truncated') ids = [...honestIds.slice(0, Math.floor(n / 4 + random() * (n / 2))), eos];
      else if (strategy === 'extended') ids = [...honestIds.slice(0, n - injected.length), ...injected];
      else if (strategy === 'replaced-token') {
        ids = [...honestIds];
        const at = Math.floor(ids.length / 2);
        let replacement = randomToken();
        while (replacement === ids[at]) replacement = randomToken();
        ids[at] = replacement;
      } else if (strategy === 'random-tokens') ids = Array.from({ length: n }, randomToken);
      else ids = referenceAnswers[(i + 7) % referenceAnswers.length]!.ids;
      const verdict = await judge(messages, { ids, text: decode(ids) }, strategy);
      if (!verdict.pass) caught += 1;
      for (const f of verdict.failures) reasons[f] = (reasons[f] ?? 0) + 1;
      shares.push(verdict.score.failShare);
    }
    const point = {
      strategy,
      description: DISHONEST_STRATEGIES[strategy],
      claims: options.dishonestPerStrategy,
      caught,
      detectionRate: caught / options.dishonestPerStrategy,
      reasons,
      failShare: distribution(shares),
    };
    dishonest.push(point);
    progress(`sampling: ${strategy}: caught ${caught}/${point.claims} (${Object.entries(reasons).map(([k, v]) => `${k} ${v}`).join(', ')})`);
  }
  await otherModel.dispose();

  const cost: CostPoint[] = [];
  for (const length of options.costLengths) {
    const gen: number[] = [];
    const ver: number[] = [];
    const genCpu: number[] = [];
    const verCpu: number[] = [];
    for (let r = 0; r < options.costRepeats + 1; r += 1) {
      const messages = prompts[r]!;
      let cpu = cpuMs();
      const out = await reference.generate({ messages, maxNewTokens: length });
      const genCpuMs = cpuMs() - cpu;
      cpu = cpuMs();
      const scored = await reference.scoreTokens({ messages, tokenIds: out.tokenIds });
      const verCpuMs = cpuMs() - cpu;
      if (r === 0) continue; // warm-up for this length
      gen.push(out.durationMs);
      ver.push(scored.durationMs);
      genCpu.push(genCpuMs);
      verCpu.push(verCpuMs);
    }
    const point = {
      newTokens: length,
      samples: gen.length,
      generationMs: median(gen),
      verificationMs: median(ver),
      ratio: median(ver) / median(gen),
      generationCpuMs: median(genCpu),
      verificationCpuMs: median(verCpu),
    };
    cost.push(point);
    progress(`sampling: cost at ${length} tokens: generation ${point.generationMs.toFixed(1)} ms, verification ${point.verificationMs.toFixed(1)} ms (${point.ratio.toFixed(3)}x)`);
  }

  const info = reference.info();
  await reference.dispose();
  return {
    model: info.model,
    dtype: info.dtype,
    device: info.device,
    maxNewTokens: n,
    thresholds,
    retokenisation: { answers: referenceAnswers.length, differ, share: differ / referenceAnswers.length },
    honest,
    dishonest,
    cost,
    ...(options.keepRaw ? { raw } : {}),
  };
}
