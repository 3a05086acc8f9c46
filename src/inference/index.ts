/**
 * Operator inference engine (transformers.js on onnxruntime-node, WebGPU or CPU).
 *
 * @example
 * const engine = createInferenceEngine({
 *   model: 'tiny-random-LlamaForCausalLM-fp16', dtype: 'fp16', device: 'auto',
 *   localModelPath: defaultModelPath(), maxContextTokens: 2048, maxNewTokensLimit: 256,
 *   concurrency: 1, logger: createLogger('inference'),
 * });
 * await engine.load();
 * const { text, usage } = await engine.generate({
 *   messages: [{ role: 'user', content: 'Hello' }], maxNewTokens: 32, signal, onToken: ({ tokens }) => heartbeat(tokens),
 * });
 */
export * from './engine.js';
export * from './errors.js';
export { loadOnDevice, type DeviceSelection } from './device.js';
export { Semaphore } from './semaphore.js';
