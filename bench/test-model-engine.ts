import { resolveCpuThreads, type CpuThreadSettings } from '../src/inference/cpu-threads.js';
import { createInferenceEngine, defaultModelPath, type InferenceEngine, type InferenceEngineConfig } from '../src/inference/engine.js';
import { TEST_MODEL } from '../test/helpers/network.js';

/** The onnxruntime threads an operator with default configuration uses for the test model (src/inference/cpu-threads.ts). */
export function operatorDefaultThreads(): CpuThreadSettings {
  return resolveCpuThreads({ intraOpThreads: 'auto', spinning: false, modelPath: defaultModelPath(), model: TEST_MODEL, dtype: 'fp16' });
}

/** An engine on the local test model (CPU, fp16, quiet), as the benches run it in their own process. */
export function testModelEngine(overrides: Partial<InferenceEngineConfig> = {}): InferenceEngine {
  return createInferenceEngine({
    model: TEST_MODEL,
    dtype: 'fp16',
    device: 'cpu',
    localModelPath: defaultModelPath(),
    maxContextTokens: 2048,
    maxNewTokensLimit: 256,
    concurrency: 1,
    logger: { info: () => undefined, warn: () => undefined },
    ...overrides,
  });
}
