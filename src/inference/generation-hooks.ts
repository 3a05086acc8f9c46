import { BaseStreamer, StoppingCriteria } from '@huggingface/transformers';

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
