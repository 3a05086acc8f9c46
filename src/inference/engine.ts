import { performance } from 'node:perf_hooks';
import {
  AutoModelForCausalLM,
  AutoTokenizer,
  Tensor,
  env as transformersEnv,
  type PreTrainedModel,
  type PreTrainedTokenizer,
} from '@huggingface/transformers';
import { InvalidInputError } from '../shared/errors.js';
import { cpuSessionOptions } from './cpu-threads.js';
import { configureTransformersEnv } from './model-source.js';
import { loadOnDevice, type DevicePreference, type InferenceDevice } from './device.js';
import { GenerationCancelledError, ModelLoadError } from './errors.js';
import { AbortStoppingCriteria, LogitNoiseProcessor, TokenCounter } from './generation-hooks.js';
import { LogitRows } from './logit-rows.js';
import type { PositionScore } from '../sampling/position-score.js';
import { validateLogitNoise, type LogitNoise } from '../sampling/logit-noise.js';
import { checkContext, validateMaxNewTokens, validateMessages, type ChatMessage } from './limits.js';
import { Semaphore } from './semaphore.js';
import { generateBatch, type BatchRow } from './batched-generation.js';
import { greedyGenerationOptions } from './greedy.js';

/** The subset of a pino logger the engine uses. */
export interface EngineLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface InferenceEngineConfig {
  /** Local folder name under localModelPath, or a Hugging Face id (with allowRemote). */
  model: string;
  /** ONNX weights variant, e.g. 'fp16', 'q4', 'fp32'. */
  dtype: string;
  device: DevicePreference;
  localModelPath?: string;
  /** Default: false when localModelPath is set, true otherwise. */
  allowRemote?: boolean;
  /** Context window enforced per request (clamped to the model's max_position_embeddings). */
  maxContextTokens: number;
  maxNewTokensLimit: number;
  /** Concurrent generate()/scoreTokens() calls; more wait in FIFO order. */
  concurrency: number;
  /**
   * Greedy requests run together as one batched generation, at most this many (default 1: each alone). A request
   * arriving while the engine is idle starts at once; those arriving meanwhile share the next generation.
   */
  batchMax?: number;
  /** Called once per generation with how many requests it carried (1 unless batched): metrics. */
  onGeneration?: (rows: number) => void;
  /** onnxruntime intra-op threads; default: onnxruntime's (one per core). One costs less CPU per token on small models. */
  intraOpThreads?: number;
  /** Whether idle intra-op threads spin (onnxruntime's default: yes). Only applied with intraOpThreads. */
  intraOpSpinning?: boolean;
  logger: EngineLogger;
  /**
   * TEST AND BENCHMARK ONLY: seeded noise added to the logits before each greedy argmax, a stand-in for
   * another device's float rounding (src/sampling/logit-noise.ts). Operator configuration refuses it outside
   * NODE_ENV=test; scoring never applies it.
   */
  logitNoise?: LogitNoise;
}

export interface SamplingOptions {
  temperature: number;
  topK?: number;
  topP?: number;
}

export interface GenerateRequest {
  messages: ChatMessage[];
  maxNewTokens: number;
  signal?: AbortSignal;
  onToken?: (info: { tokens: number }) => void;
  /** Omit for greedy decoding (deterministic; what PoE re-checks rely on). */
  sampling?: SamplingOptions;
}

export interface GenerateResult {
  text: string;
  /** The generated token ids, end-of-sequence included when the model emitted it: what a verifier scores. */
  tokenIds: number[];
  usage: { inputTokens: number; outputTokens: number };
  /** 'stop': the model emitted end-of-sequence; 'length': maxNewTokens reached. */
  finishReason: 'stop' | 'length';
  /** Generation time, excluding time queued behind other requests. */
  durationMs: number;
  queuedMs: number;
}

export interface ScoreRequest {
  messages: ChatMessage[];
  /** The claimed answer's token ids, scored after the chat-templated prompt. */
  tokenIds: number[];
  signal?: AbortSignal;
}

export interface ScoreResult {
  /** One score per claimed token: its gap to the best logit and its rank (src/sampling/position-score.ts). */
  positions: PositionScore[];
  /** The claimed ids decoded as generate() decodes them (special tokens skipped). */
  text: string;
  endsWithEos: boolean;
  eosBeforeEnd: boolean;
  inputTokens: number;
  /** Forward pass and scoring, excluding time queued behind other requests. */
  durationMs: number;
  queuedMs: number;
}

export interface EngineInfo {
  model: string;
  dtype: string;
  /** The inference library and its version, e.g. `transformers.js 4.3.1`. */
  engine: string;
  device: InferenceDevice;
  deviceReason: string;
  loadMs: number;
  maxContextTokens: number;
  maxNewTokensLimit: number;
  concurrency: number;
  /** Greedy requests per batched generation (1: each alone). */
  batchMax: number;
  /** The model's vocabulary size (token ids are below it). */
  vocabSize: number;
}

export interface InferenceEngine {
  /** Loads tokenizer and model once; later calls return the same load time. */
  load(): Promise<number>;
  /** Chat-template token count of `messages` (with the assistant generation prompt). */
  countInputTokens(messages: ChatMessage[]): Promise<number>;
  /** Token ids to text, as generate() decodes its output (special tokens skipped). */
  decode(tokenIds: number[]): Promise<string>;
  generate(request: GenerateRequest): Promise<GenerateResult>;
  /**
   * Teacher-forced scoring (step 11, tolerant mode): one forward pass over prompt + claimed ids, each claimed
   * token scored against the logits that predict it. No generation: the cost is one prefill.
   */
  scoreTokens(request: ScoreRequest): Promise<ScoreResult>;
  /** Throws if not loaded yet. */
  info(): EngineInfo;
  dispose(): Promise<void>;
}

interface Loaded {
  tokenizer: PreTrainedTokenizer;
  model: PreTrainedModel;
  device: InferenceDevice;
  deviceReason: string;
  loadMs: number;
  maxContextTokens: number;
  eosTokenIds: Set<number>;
}


function positiveInt(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 1) throw new InvalidInputError(`${name} must be a positive integer`);
}

function eosIds(model: PreTrainedModel, tokenizer: PreTrainedTokenizer): Set<number> {
  const ids = new Set<number>();
  const add = (v: unknown): void => {
    if (typeof v === 'number') ids.add(v);
    else if (Array.isArray(v)) v.forEach(add);
  };
  add((model.generation_config as { eos_token_id?: unknown } | null)?.eos_token_id);
  add((model.config as { eos_token_id?: unknown }).eos_token_id);
  add((tokenizer as unknown as { eos_token_id?: unknown }).eos_token_id);
  return ids;
}

export function createInferenceEngine(config: InferenceEngineConfig): InferenceEngine {
  positiveInt(config.maxContextTokens, 'maxContextTokens');
  positiveInt(config.maxNewTokensLimit, 'maxNewTokensLimit');
  positiveInt(config.concurrency, 'concurrency');
  if (config.intraOpThreads !== undefined) positiveInt(config.intraOpThreads, 'intraOpThreads');
  if (config.batchMax !== undefined) positiveInt(config.batchMax, 'batchMax');
  if (config.logitNoise) {
    try {
      validateLogitNoise(config.logitNoise);
    } catch (error) {
      throw new InvalidInputError((error as Error).message);
    }
  }
  const semaphore = new Semaphore(config.concurrency);
  const batchMax = config.batchMax ?? 1;
  const batchQueue: Array<BatchRow & { queuedAt: number; settle(outcome: { tokenIds: number[]; cancelled: boolean; started: number } | { error: unknown }): void }> = [];
  let batchRunners = 0;
  const log = config.logger;
  let loading: Promise<Loaded> | undefined;
  let loaded: Loaded | undefined;

  async function doLoad(): Promise<Loaded> {
    const started = performance.now();
    configureTransformersEnv(config);
    let tokenizer: PreTrainedTokenizer;
    try {
      tokenizer = await AutoTokenizer.from_pretrained(config.model);
    } catch (error) {
      throw new ModelLoadError(`Could not load the tokenizer of ${config.model}`, {
        details: error instanceof Error ? error.message : String(error),
        cause: error,
      });
    }
    if (!tokenizer.chat_template) {
      throw new ModelLoadError(`Model ${config.model} has no chat template; chat messages cannot be formatted`);
    }
    const selection = await loadOnDevice(config.device, (device) =>
      AutoModelForCausalLM.from_pretrained(config.model, {
        dtype: config.dtype as never,
        device,
        ...(config.intraOpThreads
          ? { session_options: cpuSessionOptions({ intraOpThreads: config.intraOpThreads, spinning: config.intraOpSpinning ?? true }) }
          : {}),
      }),
    );
    const model = selection.loaded;
    const modelMax = (model.config as { max_position_embeddings?: unknown }).max_position_embeddings;
    const maxContextTokens =
      typeof modelMax === 'number' && modelMax > 0 ? Math.min(config.maxContextTokens, modelMax) : config.maxContextTokens;
    const loadMs = Math.round(performance.now() - started);
    log.info(
      { device: selection.device, requested: config.device, reason: selection.reason, model: config.model, dtype: config.dtype, loadMs },
      `inference device: ${selection.device} (${selection.reason})`,
    );
    if (maxContextTokens < config.maxContextTokens) {
      log.warn({ configured: config.maxContextTokens, model: modelMax }, 'maxContextTokens clamped to the model maximum');
    }
    return {
      tokenizer,
      model,
      device: selection.device,
      deviceReason: selection.reason,
      loadMs,
      maxContextTokens,
      eosTokenIds: eosIds(model, tokenizer),
    };
  }

  async function ensureLoaded(): Promise<Loaded> {
    if (loaded) return loaded;
    loading ??= doLoad().then(
      (value) => (loaded = value),
      (error: unknown) => {
        loading = undefined; // allow a retry after a failed load
        throw error;
      },
    );
    return loading;
  }

  function applyTemplate(tokenizer: PreTrainedTokenizer, messages: ChatMessage[]): { input_ids: Tensor; attention_mask: Tensor } {
    let inputs: { input_ids: Tensor; attention_mask: Tensor };
    try {
      inputs = tokenizer.apply_chat_template(messages, {
        add_generation_prompt: true,
        return_dict: true,
      }) as unknown as { input_ids: Tensor; attention_mask: Tensor };
    } catch (error) {
      // e.g. the template's raise_exception for non-alternating roles
      throw new InvalidInputError('messages do not fit the model chat template', {
        details: error instanceof Error ? error.message : String(error),
      });
    }
    // generate() indexes the last prompt token: an empty prompt would crash inside it (e.g. a Llama 2 template
    // given a system message alone renders nothing).
    if ((inputs.input_ids.dims.at(-1) ?? 0) === 0) {
      throw new InvalidInputError('the model chat template renders these messages as an empty prompt; send at least one user message');
    }
    return inputs;
  }

  /** A concurrency slot; cancellation while queued is a GenerationCancelledError after 0 tokens. */
  async function acquireSlot(signal: AbortSignal | undefined): Promise<{ release: () => void; started: number; queuedAt: number }> {
    if (signal?.aborted) throw new GenerationCancelledError(0, { cause: signal.reason });
    const queuedAt = performance.now();
    try {
      const release = await semaphore.acquire(signal);
      return { release, started: performance.now(), queuedAt };
    } catch (reason) {
      throw new GenerationCancelledError(0, { details: 'cancelled while queued', cause: reason });
    }
  }

  /**
   * Batched greedy generation: each runner holds one concurrency slot and runs what is queued (up to batchMax) as
   * one generation, until the queue is empty. Rows cancelled while queued leave without running.
   */
  async function runBatches(): Promise<void> {
    const { model, eosTokenIds, tokenizer, maxContextTokens } = await ensureLoaded();
    const padTokenId = tokenizer.pad_token_id ?? [...eosTokenIds][0] ?? 0;
    while (batchQueue.length > 0) {
      const release = await semaphore.acquire();
      try {
        const jobs = takeBatch(maxContextTokens).filter((job) => {
          if (!job.signal?.aborted) return true;
          job.settle({ tokenIds: [], cancelled: true, started: performance.now() });
          return false;
        });
        if (jobs.length === 0) continue;
        const started = performance.now();
        try {
          config.onGeneration?.(jobs.length);
          const outcomes = await generateBatch(model, jobs, padTokenId);
          jobs.forEach((job, i) => job.settle({ ...outcomes[i]!, started }));
        } catch (error) {
          for (const job of jobs) job.settle({ error });
        }
      } finally {
        release();
      }
    }
  }

  /**
   * The next batch, in queue order: a request joins only if every row still fits the context window (a row's
   * positions run to the longest prompt plus the largest maxNewTokens, since finished rows go on with the batch).
   */
  function takeBatch(maxContextTokens: number): typeof batchQueue {
    const taken: typeof batchQueue = [];
    let longestPrompt = 0;
    let mostNewTokens = 0;
    for (let i = 0; i < batchQueue.length && taken.length < batchMax; ) {
      const job = batchQueue[i]!;
      const prompt = Math.max(longestPrompt, job.prompt.length);
      const newTokens = Math.max(mostNewTokens, job.maxNewTokens);
      if (taken.length > 0 && prompt + newTokens > maxContextTokens) {
        i += 1;
        continue;
      }
      taken.push(...batchQueue.splice(i, 1));
      longestPrompt = prompt;
      mostNewTokens = newTokens;
    }
    return taken;
  }

  function startBatchRunners(): void {
    while (batchRunners < config.concurrency && batchRunners < batchQueue.length) {
      batchRunners += 1;
      void runBatches()
        .catch((error: unknown) => {
          for (const job of batchQueue.splice(0)) job.settle({ error });
        })
        .finally(() => {
          batchRunners -= 1;
          if (batchQueue.length > 0) startBatchRunners();
        });
    }
  }

  /** Queues a greedy request for the next batched generation and resolves with its own result. */
  function generateInBatch(tokenizer: PreTrainedTokenizer, eosTokenIds: Set<number>, row: BatchRow): Promise<GenerateResult> {
    const queuedAt = performance.now();
    return new Promise((resolve, reject) => {
      batchQueue.push({
        ...row,
        queuedAt,
        settle(outcome) {
          if ('error' in outcome) return reject(outcome.error);
          if (outcome.cancelled) return reject(new GenerationCancelledError(outcome.tokenIds.length, { cause: row.signal?.reason }));
          const last = outcome.tokenIds.at(-1);
          resolve({
            text: tokenizer.decode(outcome.tokenIds, { skip_special_tokens: true }),
            tokenIds: outcome.tokenIds,
            usage: { inputTokens: row.prompt.length, outputTokens: outcome.tokenIds.length },
            finishReason: last !== undefined && eosTokenIds.has(last) ? 'stop' : 'length',
            durationMs: performance.now() - outcome.started,
            queuedMs: outcome.started - queuedAt,
          });
        },
      });
      startBatchRunners();
    });
  }

  return {
    async load() {
      return (await ensureLoaded()).loadMs;
    },

    async countInputTokens(messages) {
      validateMessages(messages);
      const { tokenizer } = await ensureLoaded();
      return applyTemplate(tokenizer, messages).input_ids.dims.at(-1) ?? 0;
    },

    async decode(tokenIds) {
      const { tokenizer } = await ensureLoaded();
      return tokenizer.decode(tokenIds, { skip_special_tokens: true });
    },

    async generate({ messages, maxNewTokens, signal, onToken, sampling }) {
      validateMessages(messages);
      validateMaxNewTokens(maxNewTokens, config.maxNewTokensLimit);
      const { tokenizer, model, maxContextTokens, eosTokenIds } = await ensureLoaded();
      const inputs = applyTemplate(tokenizer, messages);
      const inputTokens = inputs.input_ids.dims.at(-1) ?? 0;
      checkContext(inputTokens, maxNewTokens, maxContextTokens);
      if (batchMax > 1 && !sampling && !config.logitNoise) {
        if (signal?.aborted) throw new GenerationCancelledError(0, { cause: signal.reason });
        const prompt = (inputs.input_ids.tolist() as bigint[][])[0] ?? [];
        return generateInBatch(tokenizer, eosTokenIds, { prompt, maxNewTokens, ...(signal ? { signal } : {}), ...(onToken ? { onToken } : {}) });
      }
      const { release, started, queuedAt } = await acquireSlot(signal);
      try {
        config.onGeneration?.(1);
        const stop = new AbortStoppingCriteria(signal);
        const counter = new TokenCounter(onToken);
        const options = sampling
          ? { max_new_tokens: maxNewTokens, do_sample: true, temperature: sampling.temperature, top_k: sampling.topK ?? 0, top_p: sampling.topP ?? 1 }
          : greedyGenerationOptions(maxNewTokens);
        const output = (await model.generate({
          ...inputs,
          ...options,
          ...(config.logitNoise ? { logits_processor: [new LogitNoiseProcessor(config.logitNoise)] } : {}),
          stopping_criteria: [stop],
          streamer: counter,
        } as unknown as Parameters<PreTrainedModel['generate']>[0])) as Tensor;
        if (stop.triggered) throw new GenerationCancelledError(counter.tokens, { cause: signal?.reason });
        const row = (output.tolist() as bigint[][])[0] ?? [];
        const newIds = row.slice(inputTokens).map(Number);
        const last = newIds.at(-1);
        return {
          text: tokenizer.decode(newIds, { skip_special_tokens: true }),
          tokenIds: newIds,
          usage: { inputTokens, outputTokens: newIds.length },
          finishReason: last !== undefined && eosTokenIds.has(last) ? 'stop' : 'length',
          durationMs: performance.now() - started,
          queuedMs: started - queuedAt,
        };
      } finally {
        release();
      }
    },

    async scoreTokens({ messages, tokenIds, signal }) {
      validateMessages(messages);
      if (!Array.isArray(tokenIds) || tokenIds.length === 0 || !tokenIds.every((id) => Number.isInteger(id) && id >= 0)) {
        throw new InvalidInputError('tokenIds must be a non-empty array of non-negative integers');
      }
      validateMaxNewTokens(tokenIds.length, config.maxNewTokensLimit);
      const { tokenizer, model, maxContextTokens, eosTokenIds } = await ensureLoaded();
      const inputs = applyTemplate(tokenizer, messages);
      const prompt = (inputs.input_ids.tolist() as bigint[][])[0] ?? [];
      checkContext(prompt.length, tokenIds.length, maxContextTokens);
      const ids = [...prompt, ...tokenIds.map(BigInt)];
      const { release, started, queuedAt } = await acquireSlot(signal);
      try {
        const inputIds = new Tensor('int64', BigInt64Array.from(ids), [1, ids.length]);
        const attentionMask = new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]);
        const output = (await model.forward({ input_ids: inputIds, attention_mask: attentionMask })) as { logits: Tensor };
        if (signal?.aborted) throw new GenerationCancelledError(0, { cause: signal.reason });
        const rows = new LogitRows(output.logits);
        // Row r holds the logits after position (ids.length - rows.rows + r); claimed token k sits at prompt.length + k.
        const firstRow = rows.rows - ids.length;
        const positions = tokenIds.map((id, k) => rows.score(firstRow + prompt.length + k - 1, id));
        const eosAt = tokenIds.findIndex((id) => eosTokenIds.has(id));
        return {
          positions,
          text: tokenizer.decode(tokenIds, { skip_special_tokens: true }),
          endsWithEos: eosTokenIds.has(tokenIds.at(-1)!),
          eosBeforeEnd: eosAt !== -1 && eosAt < tokenIds.length - 1,
          inputTokens: prompt.length,
          durationMs: performance.now() - started,
          queuedMs: started - queuedAt,
        };
      } finally {
        release();
      }
    },

    info() {
      if (!loaded) throw new ModelLoadError('Inference engine is not loaded yet; call load() first');
      return {
        model: config.model,
        dtype: config.dtype,
        engine: `transformers.js ${transformersEnv.version}`,
        device: loaded.device,
        deviceReason: loaded.deviceReason,
        loadMs: loaded.loadMs,
        maxContextTokens: loaded.maxContextTokens,
        maxNewTokensLimit: config.maxNewTokensLimit,
        concurrency: config.concurrency,
        batchMax,
        vocabSize: Number((loaded.model.config as { vocab_size?: unknown }).vocab_size ?? 0),
      };
    },

    async dispose() {
      const current = loaded ?? (loading ? await loading.catch(() => undefined) : undefined);
      loaded = undefined;
      loading = undefined;
      await current?.model.dispose();
    },
  };
}

export { configureTransformersEnv, defaultModelPath } from './model-source.js';
export type { ChatMessage, ChatRole } from './limits.js';
export type { DevicePreference, InferenceDevice } from './device.js';
