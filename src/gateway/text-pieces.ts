/** A word with the spaces before it, cut after at most 6 code points (about one token); or trailing spaces. */
const PIECE = /\s*\S{1,6}|\s+/gu;

/**
 * Splits verified text into token-sized pieces for streaming (the gateway has no tokenizer of the model; a piece
 * is roughly a token: a short word with its leading space, or part of a long one). Pieces concatenate to `text`
 * exactly and never split a code point.
 */
export function textPieces(text: string): string[] {
  return text.match(PIECE) ?? [];
}
