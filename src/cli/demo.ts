import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import path from 'node:path';
import { loadOrCreateCodecKey } from '../codec/codec-key.js';
import { coordinatorDataConverter } from '../coordinator/data-converter.js';
import type { PrismaClient } from '../db/client.js';
import { getBalance, topUp } from '../db/credits.js';
import type { StackEndpoints } from '../devstack/stack.js';
import { INFERENCE_WORKFLOW, type InferenceResult, type InferenceWorkflowInput } from '../protocol/inference.js';
import { COORDINATOR_TASK_QUEUE } from '../protocol/task-queues.js';
import { stateDir } from '../shared/paths.js';
import { say } from './output.js';

export const DEMO_USER = 'demo-user';
const DEMO_CREDITS = 1_000_000n;

const DEMO_PROMPTS: { messages: InferenceWorkflowInput['messages']; sampleProbability?: number }[] = [
  { messages: [{ role: 'system', content: 'You are a helpful assistant.' }, { role: 'user', content: 'What is the capital of France? Answer in one sentence.' }] },
  { messages: [{ role: 'user', content: 'Write a haiku about distributed systems.' }] },
  // Always sampled: shows step 11's re-dispatch to a second node and its verdict.
  { messages: [{ role: 'user', content: 'Explain proof of execution in one sentence.' }], sampleProbability: 1 },
];

/** Funds the demo user once and sends a few requests through the pipeline, printing what each one did. */
export async function runDemoRequests(endpoints: StackEndpoints, db: PrismaClient, model: string): Promise<void> {
  await topUp(db, DEMO_USER, DEMO_CREDITS, 'demo-initial-topup');
  say(`[demo] user ${DEMO_USER}: ${(await getBalance(db, DEMO_USER)).balance} credits`);
  const connection = await Connection.connect({ address: endpoints.temporal.address });
  const client = new Client({
    connection,
    namespace: endpoints.temporal.namespace,
    dataConverter: coordinatorDataConverter(loadOrCreateCodecKey(path.join(stateDir(), 'coordinator', 'codec-key'))),
  });
  try {
    for (const prompt of DEMO_PROMPTS) {
      const workflowId = `request-${randomUUID()}`;
      const started = Date.now();
      const input: InferenceWorkflowInput = { userId: DEMO_USER, model, messages: prompt.messages, maxNewTokens: 32, ...(prompt.sampleProbability !== undefined ? { sampleProbability: prompt.sampleProbability } : {}) };
      const result: InferenceResult = await client.workflow.execute(INFERENCE_WORKFLOW, { taskQueue: COORDINATOR_TASK_QUEUE, workflowId, args: [input] });
      say(`[demo] request ${result.requestId} in ${Date.now() - started} ms`);
      say(`         node ${result.nodeId}, sampled ${result.sampled ? `yes (${result.sampledNodeIds.join(', ')})` : 'no'}, verdict ${result.verdict}`);
      say(`         anchor tx ${result.anchorTx} (block ${result.anchorBlock}), credits charged ${result.creditsCharged}`);
      say(`         ${result.usage.outputTokens} tokens: ${JSON.stringify(result.text.slice(0, 60))}${result.text.length > 60 ? '…' : ''}`);
      if (endpoints.temporal.uiUrl) say(`         ${endpoints.temporal.uiUrl}/namespaces/${endpoints.temporal.namespace}/workflows/${workflowId}`);
    }
  } finally {
    await connection.close();
  }
}
