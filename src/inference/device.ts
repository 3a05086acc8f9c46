import { ModelLoadError } from './errors.js';

export type DevicePreference = 'auto' | 'webgpu' | 'cpu';
export type InferenceDevice = 'webgpu' | 'cpu';

export interface DeviceSelection<T> {
  device: InferenceDevice;
  /** Why this device: "configured", "webgpu adapter available", "webgpu unavailable: …". */
  reason: string;
  loaded: T;
}

/** A short reason for logs: first line, without onnxruntime's source-location preamble. */
function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const line = (message.split('\n').find((l) => l.trim() !== '') ?? 'unknown error').trim();
  const ortAssert = /\bwas false\.\s*(.+)$/.exec(line); // "<file>:<line> <fn> <expr> was false. <why>"
  return (ortAssert?.[1] ?? line).slice(0, 200);
}

/**
 * Loads on the configured device. An explicit device wins and has no fallback. 'auto' really
 * tries WebGPU (creating the session is the only reliable probe: onnxruntime-node ships the
 * WebGPU provider but a headless machine may have no adapter) and falls back to CPU.
 */
export async function loadOnDevice<T>(
  preference: DevicePreference,
  load: (device: InferenceDevice) => Promise<T>,
): Promise<DeviceSelection<T>> {
  if (preference !== 'auto') {
    try {
      return { device: preference, reason: 'configured', loaded: await load(preference) };
    } catch (error) {
      throw new ModelLoadError(`Could not load the model on ${preference}`, { details: firstLine(error), cause: error });
    }
  }
  let webgpuError: unknown;
  try {
    return { device: 'webgpu', reason: 'auto: webgpu adapter available', loaded: await load('webgpu') };
  } catch (error) {
    webgpuError = error;
  }
  try {
    return { device: 'cpu', reason: `auto: webgpu unavailable (${firstLine(webgpuError)})`, loaded: await load('cpu') };
  } catch (error) {
    throw new ModelLoadError('Could not load the model on webgpu or cpu', {
      details: `webgpu: ${firstLine(webgpuError)}; cpu: ${firstLine(error)}`,
      cause: error,
    });
  }
}
