import type { PrismaClient } from '../db/client.js';
import { getBalance, topUp } from '../db/credits.js';
import type { StackEndpoints } from '../config/stack-file.js';
import type { InferenceWorkflowInput } from '../protocol/inference.js';
import { createParallelixClient } from '../sdk/index.js';
import { say } from './output.js';

export const DEMO_USER = 'demo-user';
const DEMO_CREDITS = 1_000_000n;

const DEMO_PROMPTS: { messages: InferenceWorkflowInput['messages']; sampleProbability?: number }[] = [
  { messages: [{ role: 'system', content: 'You are a helpful assistant.' }, { role: 'user', content: 'What is the capital of France? Answer in one sentence.' }] },
  { messages: [{ role: 'user', content: 'Write a haiku about distributed systems.' }] },
  // Always sampled: shows step 11's check on a second node (tolerant by default) and its verdict.
  { messages: [{ role: 'user', content: 'Explain proof of execution in one sentence.' }], sampleProbability: 1 },
];

/** Funds the demo user, once per database: the user `parallelix submit` defaults to beside a local stack. */
export async function fundDemoUser(db: PrismaClient): Promise<void> {
  await topUp(db, DEMO_USER, DEMO_CREDITS, 'demo-initial-topup');
  say(`[demo] user ${DEMO_USER}: ${(await getBalance(db, DEMO_USER)).balance} credits`);
}

/** Sends a few requests through the pipeline, printing what each one did. */
export async function runDemoRequests(endpoints: StackEndpoints, model: string): Promise<void> {
  // Through the client SDK, as the platform submits requests.
  const px = await createParallelixClient({ address: endpoints.temporal.address, namespace: endpoints.temporal.namespace });
  try {
    for (const prompt of DEMO_PROMPTS) {
      const started = Date.now();
      const request = await px.submit({ userId: DEMO_USER, model, maxNewTokens: 32, ...prompt });
      const result = await request.result();
      const { workflowId } = request;
      say(`[demo] request ${result.requestId} in ${Date.now() - started} ms`);
      say(`         node ${result.nodeId}, sampled ${result.sampled ? `yes, ${result.mode} check (${result.sampledNodeIds.join(', ')})` : 'no'}, verdict ${result.verdict}`);
      say(`         anchor tx ${result.anchorTx} (block ${result.anchorBlock}), credits charged ${result.creditsCharged}`);
      say(`         ${result.usage.outputTokens} tokens: ${JSON.stringify(result.text.slice(0, 60))}${result.text.length > 60 ? '…' : ''}`);
      if (endpoints.temporal.uiUrl) say(`         ${endpoints.temporal.uiUrl}/namespaces/${endpoints.temporal.namespace}/workflows/${workflowId}`);
    }
  } finally {
    await px.close();
  }
}
