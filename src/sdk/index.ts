/**
 * ParalleliX client SDK: how the platform submits inference requests and follows them.
 *
 * @example
 * import { createParallelixClient, InsufficientCreditsError } from 'parallelix';
 * const px = await createParallelixClient({ address: '127.0.0.1:7233' });
 * try {
 *   const request = await px.submit({ userId: 'u1', model: 'tiny-random-LlamaForCausalLM-fp16',
 *     messages: [{ role: 'user', content: 'Hello' }], maxNewTokens: 32, idempotencyKey: 'order-42' });
 *   console.log(await request.requestId());
 *   for await (const chunk of request.stream()) process.stdout.write(chunk);
 *   console.log(await request.result());
 * } catch (error) {
 *   if (error instanceof InsufficientCreditsError) console.error('top up first');
 * } finally {
 *   await px.close();
 * }
 */
export { createParallelixClient, workflowIdFor } from './client.js';
export type { ParallelixClient, ParallelixClientOptions, RequestHandle } from './client.js';
export * from './errors.js';
export { parseVerifiableResult, verifyResult } from './verify.js';
export type { ChainEndpoint, VerifiableResult, VerifyCheck, VerifyReport } from './verify.js';
export type * from './types.js';
