import { BaseStreamer, StoppingCriteria, Tensor, type PreTrainedModel } from '@huggingface/transformers';
import { greedyGenerationOptions } from './greedy.js';

/** One greedy request in a batched generation. */
export interface BatchRow {
  /** The prompt's token ids (chat template applied), unpadded. */
  prompt: readonly bigint[];
  maxNewTokens: number;
  signal?: AbortSignal;
  onToken?: (info: { tokens: number }) => void;
}

/** What one row generated: its own tokens only, up to its end-of-sequence or its own maxNewTokens. */
export interface BatchRowOutcome {
  tokenIds: number[];
  /** The row's signal fired before it finished: it stopped there (the others went on). */
  cancelled: boolean;
}

/**
 * Per-row stop: a row is finished at its first end-of-sequence token, at its own maxNewTokens, or when its signal
 * fires, and stays finished (transformers.js keeps generating for finished rows until every row is finished, and
 * its own end-of-sequence check only looks at the last token).
 */
class RowStops extends StoppingCriteria {
  readonly finished: boolean[];
  readonly lengths: number[];
  readonly cancelled: boolean[];

  constructor(
    private readonly rows: readonly BatchRow[],
    private readonly promptLength: number,
    private readonly eos: ReadonlySet<number>,
  ) {
    super();
    this.finished = rows.map(() => false);
    this.lengths = rows.map(() => 0);
    this.cancelled = rows.map(() => false);
  }

  override _call(inputIds: number[][]): boolean[] {
    inputIds.forEach((ids, i) => {
      if (this.finished[i]) return;
      const generated = ids.length - this.promptLength;
      const row = this.rows[i]!;
      if (generated > 0 && (this.eos.has(Number(ids.at(-1))) || generated >= row.maxNewTokens)) {
        this.finished[i] = true;
        this.lengths[i] = generated;
      } else if (row.signal?.aborted) {
        this.finished[i] = true;
        this.cancelled[i] = true;
        this.lengths[i] = generated;
      }
    });
    return [...this.finished];
  }
}

/** Reports each row's tokens to that row until it is finished (generate() first puts the prompt ids: skipped). */
class RowTokens extends BaseStreamer {
  private promptSeen = false;
  private readonly counts: number[];

  constructor(
    private readonly rows: readonly BatchRow[],
    private readonly stops: RowStops,
  ) {
    super();
    this.counts = rows.map(() => 0);
  }

  override put(value: bigint[][]): void {
    if (!this.promptSeen) {
      this.promptSeen = true;
      return;
    }
    value.forEach((_, i) => {
      if (this.stops.finished[i]) return;
      this.counts[i]! += 1;
      this.rows[i]!.onToken?.({ tokens: this.counts[i]! });
    });
  }

  override end(): void {}
}

/**
 * The end-of-sequence ids a single generate() stops at: its generation config's, which start from the model config
 * and are overridden by generation_config.json (transformers.js' _prepare_generation_config), so a row stops where the
 * same request alone would.
 */
export function generationStopIds(model: PreTrainedModel): Set<number> {
  const generation = model.generation_config as { eos_token_id?: unknown } | null | undefined;
  const configured = generation && 'eos_token_id' in generation ? generation.eos_token_id : (model.config as { eos_token_id?: unknown }).eos_token_id;
  const ids = Array.isArray(configured) ? configured : [configured];
  return new Set(ids.filter((id): id is number => typeof id === 'number'));
}

/**
 * Several greedy requests as one generation: prompts left-padded to the longest (attention mask 0 on the padding),
 * each row stopped on its own. Greedy texts equal single runs' when padding leaves each row's arithmetic as it was;
 * bench/operator-batching.ts measures how often they do on this machine.
 */
export async function generateBatch(model: PreTrainedModel, rows: readonly BatchRow[], padTokenId: number): Promise<BatchRowOutcome[]> {
  const eos = generationStopIds(model);
  const width = Math.max(...rows.map((r) => r.prompt.length));
  const ids = new BigInt64Array(rows.length * width).fill(BigInt(padTokenId));
  const mask = new BigInt64Array(rows.length * width);
  rows.forEach((row, i) => {
    const start = i * width + width - row.prompt.length;
    ids.set(row.prompt, start);
    mask.fill(1n, start, (i + 1) * width);
  });
  const stops = new RowStops(rows, width, eos);
  const output = (await model.generate({
    input_ids: new Tensor('int64', ids, [rows.length, width]),
    attention_mask: new Tensor('int64', mask, [rows.length, width]),
    ...greedyGenerationOptions(Math.max(...rows.map((r) => r.maxNewTokens))),
    stopping_criteria: [stops],
    streamer: new RowTokens(rows, stops),
  } as unknown as Parameters<PreTrainedModel['generate']>[0])) as Tensor;
  const sequences = output.tolist() as bigint[][];
  return rows.map((row, i) => {
    const generated = (sequences[i] ?? []).slice(width).map(Number);
    const length = stops.finished[i] ? stops.lengths[i]! : Math.min(generated.length, row.maxNewTokens);
    return { tokenIds: generated.slice(0, length), cancelled: stops.cancelled[i]! };
  });
}
