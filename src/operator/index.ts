/**
 * Operator node: one process, one identity, workers on its own task queues.
 *
 * @example
 * const controller = new AbortController();
 * await runOperator(parseOperatorConfig(process.env, { name: 'op1' }), { signal: controller.signal });
 */
export * from './activities.js';
export * from './config.js';
export * from './errors.js';
export * from './operator.js';
