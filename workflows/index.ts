export * from './inference-workflow.js';
export * from './node-registration-workflow.js';
export * from './node-health-workflow.js';
