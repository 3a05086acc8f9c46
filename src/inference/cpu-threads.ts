import { statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * onnxruntime's CPU thread settings for one operator. By default onnxruntime starts one intra-op thread per core and
 * lets idle threads spin: on a small model a generation then burns far more CPU than it needs (the tiny test model:
 * 54 ms CPU per generation with the defaults, 34 ms with one thread, same wall time), CPU the coordinator, the other
 * operators and Temporal on the same machine could use. The default here sizes the pool to the weights: one thread
 * per WEIGHT_BYTES_PER_THREAD of ONNX weights, at least one, at most the cores, and no spinning.
 */
export interface CpuThreadSettings {
  intraOpThreads: number;
  /** Let idle intra-op threads spin (lower latency between ops, CPU burnt while waiting). */
  spinning: boolean;
}

/** A decode step streams every weight once; below this much per thread, splitting the matmuls costs more than it saves. */
export const WEIGHT_BYTES_PER_THREAD = 64 * 1024 * 1024;

/** Threads for this many bytes of weights on `cores` cores. */
export function intraOpThreadsFor(weightBytes: number, cores: number): number {
  return Math.max(1, Math.min(cores, Math.ceil(weightBytes / WEIGHT_BYTES_PER_THREAD)));
}

/** Size of a local model's ONNX files for this dtype (graph and external data), or null when not found locally. */
export function localWeightBytes(modelPath: string, model: string, dtype: string): number | null {
  const dir = path.join(modelPath, model, 'onnx');
  const stem = dtype === 'fp32' ? 'model' : `model_${dtype}`;
  const size = (file: string): number => {
    try {
      return statSync(path.join(dir, file)).size;
    } catch {
      return 0; // absent: a model without external data, or another name
    }
  };
  const graph = size(`${stem}.onnx`);
  if (graph === 0) return null;
  // External weights: the variant's own file, else the shared one a converted graph may point at.
  return graph + (size(`${stem}.onnx.data`) || size('model.onnx.data'));
}

/** Explicit threads win; else sized to the local weights; else (weights not found locally) every core. */
export function resolveCpuThreads(options: { intraOpThreads: number | 'auto'; spinning: boolean; modelPath: string; model: string; dtype: string }): CpuThreadSettings {
  const cores = os.availableParallelism();
  if (options.intraOpThreads !== 'auto') return { intraOpThreads: options.intraOpThreads, spinning: options.spinning };
  const bytes = localWeightBytes(options.modelPath, options.model, options.dtype);
  return { intraOpThreads: bytes === null ? cores : intraOpThreadsFor(bytes, cores), spinning: options.spinning };
}

/** The session options onnxruntime-node takes (config entries as nested `extra` keys). */
export function cpuSessionOptions(settings: CpuThreadSettings): Record<string, unknown> {
  const spin = settings.spinning ? '1' : '0';
  return {
    intraOpNumThreads: settings.intraOpThreads,
    interOpNumThreads: 1,
    extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } },
  };
}
