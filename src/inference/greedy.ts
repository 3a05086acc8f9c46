/** Greedy generation options as passed to transformers.js (single and batched generations alike). */
export function greedyGenerationOptions(maxNewTokens: number): { max_new_tokens: number; do_sample: false } {
  return { max_new_tokens: maxNewTokens, do_sample: false };
}
