import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ChatMessage } from '../protocol/inference.js';
import type { Logger } from '../shared/logger.js';

/**
 * The coordinator's own token counts (issue 10: usage is counted, not told). The model's tokenizer (transformers.js
 * AutoTokenizer) is loaded once per model from the local models folder, the same folder operators load from, and
 * never from the network. A model with no local folder has no coordinator count (`undefined`): the node's counts are
 * then only bounded (step 10 checks the prompt count against the UTF-8 upper bound and the output count against the
 * generated ids), which is what the README's trust model states.
 */
export interface TokenCounter {
  /** Prompt tokens as a node's engine counts them (chat template, generation prompt); undefined without a tokenizer. */
  countPrompt(model: string, messages: ChatMessage[]): Promise<number | undefined>;
  /** The ids decoded as a node decodes its output (special tokens skipped); undefined without a tokenizer. */
  decode(model: string, tokenIds: number[]): Promise<string | undefined>;
}

/** The chat template refused the conversation: the coordinator agrees with a node's INVALID_INPUT. */
export class TemplateRefusedError extends Error {}

interface Tokenizer {
  apply_chat_template(messages: ChatMessage[], options: Record<string, unknown>): unknown;
  decode(ids: number[], options: { skip_special_tokens: boolean }): string;
  chat_template?: unknown;
}

export interface TokenCounterOptions {
  /** Folder holding one folder per model id (PARALLELIX_MODEL_PATH; default ../shared/models). */
  modelPath: string;
  logger: Pick<Logger, 'info' | 'warn'>;
}

export function createTokenCounter({ modelPath, logger }: TokenCounterOptions): TokenCounter {
  const tokenizers = new Map<string, Promise<Tokenizer | undefined>>();

  async function load(model: string): Promise<Tokenizer | undefined> {
    // A model id is a folder name here: anything that could leave the models folder has no local tokenizer.
    if (model.includes('..') || path.isAbsolute(model) || !existsSync(path.join(modelPath, model, 'tokenizer.json'))) {
      logger.warn({ model }, 'no local tokenizer for this model: node token counts are bounded, not recounted');
      return undefined;
    }
    // Loaded lazily: a coordinator serving no local model never loads transformers.js.
    const { AutoTokenizer, env } = await import('@huggingface/transformers');
    env.allowLocalModels = true;
    env.allowRemoteModels = false;
    env.localModelPath = path.resolve(modelPath) + path.sep;
    const started = performance.now();
    const tokenizer = (await AutoTokenizer.from_pretrained(model)) as unknown as Tokenizer;
    if (!tokenizer.chat_template) {
      logger.warn({ model }, 'the local tokenizer has no chat template: node token counts are bounded, not recounted');
      return undefined;
    }
    logger.info({ model, loadMs: Math.round(performance.now() - started) }, 'coordinator tokenizer loaded');
    return tokenizer;
  }

  function tokenizerOf(model: string): Promise<Tokenizer | undefined> {
    let loading = tokenizers.get(model);
    if (!loading) {
      loading = load(model).catch((error: unknown) => {
        tokenizers.delete(model); // a failed load is tried again on the next request
        throw error;
      });
      tokenizers.set(model, loading);
    }
    return loading;
  }

  return {
    async countPrompt(model, messages) {
      const tokenizer = await tokenizerOf(model);
      if (!tokenizer) return undefined;
      let rendered: unknown;
      try {
        rendered = tokenizer.apply_chat_template(messages, { add_generation_prompt: true, tokenize: true, return_tensor: false, return_dict: true });
      } catch (error) {
        throw new TemplateRefusedError(error instanceof Error ? error.message : String(error));
      }
      // { input_ids: number[] } (or number[][] for a batch of one).
      const ids = (rendered as { input_ids?: unknown } | null)?.input_ids;
      const flat = Array.isArray(ids) && Array.isArray(ids[0]) ? (ids[0] as unknown[]) : ids;
      if (!Array.isArray(flat)) throw new Error('the tokenizer returned no token ids');
      if (flat.length === 0) throw new TemplateRefusedError('the chat template renders these messages as an empty prompt');
      return flat.length;
    },
    async decode(model, tokenIds) {
      const tokenizer = await tokenizerOf(model);
      return tokenizer?.decode(tokenIds, { skip_special_tokens: true });
    },
  };
}
