import { existsSync } from 'node:fs';
import path from 'node:path';
import { env } from '@huggingface/transformers';
import { projectRoot, userCacheDir } from '../shared/paths.js';
import { ModelLoadError } from './errors.js';

export interface ModelSourceOptions {
  /** Local folder name under localModelPath, or a Hugging Face model id. */
  model: string;
  /** Folder holding local model folders. When set, remote loading is off unless allowRemote. */
  localModelPath?: string;
  allowRemote?: boolean;
}

/** Shared models folder: PARALLELIX_MODEL_PATH, else `../shared/models` beside the checkout. */
export function defaultModelPath(): string {
  return path.resolve(process.env.PARALLELIX_MODEL_PATH ?? path.join(projectRoot, '..', 'shared', 'models'));
}

/**
 * Points transformers.js at the model source. transformers.js keeps these settings in one
 * process-wide `env`, so every engine in a process must use the same source settings.
 */
export function configureTransformersEnv(options: ModelSourceOptions): void {
  const allowRemote = options.allowRemote ?? options.localModelPath === undefined;
  env.allowRemoteModels = allowRemote;
  env.allowLocalModels = options.localModelPath !== undefined;
  if (options.localModelPath !== undefined) env.localModelPath = path.resolve(options.localModelPath) + path.sep;
  if (allowRemote) env.cacheDir = path.join(userCacheDir(), 'transformers');
  if (options.localModelPath !== undefined && !allowRemote) {
    const folder = path.join(options.localModelPath, options.model);
    if (!existsSync(folder)) {
      throw new ModelLoadError(`Model folder not found: ${folder}`, {
        details: 'Set the model path (PARALLELIX_MODEL_PATH) or allow remote models for a Hugging Face id',
      });
    }
  }
}
