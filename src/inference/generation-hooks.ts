import { BaseStreamer, LogitsProcessor, StoppingCriteria, type Tensor } from '@huggingface/transformers';
import { contextSeed, perturbLogits, type LogitNoise } from '../sampling/logit-noise.js';

/** Stops generation at the next token boundary once the signal has fired. */
export class AbortStoppingCriteria extends StoppingCriteria {
  triggered = false;

  constructor(private readonly signal: AbortSignal | undefined) {
    super();
  }

  override _call(inputIds: number[][]): boolean[] {
    if (this.signal?.aborted) this.triggered = true;
    return inputIds.map(() => this.triggered);
  }
}

/**
 * Counts generated tokens and reports each one. generate() first puts the prompt ids, then one
 * id per batch row per step; only the latter are counted.
 */
export class TokenCounter extends BaseStreamer {
  tokens = 0;
  private promptSeen = false;

  constructor(private readonly onToken: ((info: { tokens: number }) => void) | undefined) {
    super();
  }

  override put(value: bigint[][]): void {
    if (!this.promptSeen) {
      this.promptSeen = true;
      return;
    }
    this.tokens += 1;
    this.onToken?.({ tokens: this.tokens });
  }

  override end(): void {}
}

/**
 * Test-only stand-in for another device (see src/sampling/logit-noise.ts): adds seeded noise to each step's
 * logits before the greedy argmax. The draw depends on the seed and the ids so far, so it is the same on every run.
 */
export class LogitNoiseProcessor extends LogitsProcessor {
  constructor(private readonly noise: LogitNoise) {
    super();
  }

  override _call(inputIds: bigint[][], logits: Tensor): Tensor {
    const data = logits.data as Float32Array;
    const vocab = logits.dims.at(-1) ?? data.length;
    inputIds.forEach((ids, batch) => {
      perturbLogits(data.subarray(batch * vocab, (batch + 1) * vocab), contextSeed(this.noise.seed, ids), this.noise);
    });
    return logits;
  }
}
