/**
 * When an operator heartbeats during a dispatch. Each heartbeat goes through the operator endpoint to the Temporal
 * server, which writes it to the run's state, and the SDK sends an activity's first heartbeat at once: a short
 * generation must send none, a long one reports progress (token counts only) from its first quarter second on.
 * The engine is a scripted stand-in (this tests the activity's pacing, not inference: operator-network.test.ts runs
 * the real model and waits for a real progress heartbeat before it cancels).
 */
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createIdentity, dispatchFields, sealEnvelope, signDispatch, toBase64 } from '../../src/crypto/index.js';
import type { EngineInfo, GenerateRequest, GenerateResult, InferenceEngine, ScoreResult } from '../../src/inference/engine.js';
import { createOperatorActivities } from '../../src/operator/activities.js';
import { OPERATOR_WIRE, type DispatchInput, type DispatchResult } from '../../src/protocol/operator-wire.js';

const MODEL = 'scripted-model';
const node = createIdentity();
const coordinator = createIdentity();
const pin = { signPublicKey: toBase64(coordinator.sign.publicKey), boxPublicKey: toBase64(coordinator.box.publicKey) };
const silent = { info: () => undefined, warn: () => undefined };

/** Emits `tokens` tokens, `gapMs` apart (0: all at once, synchronously), then returns. */
function scriptedEngine(tokens: number, gapMs: number): InferenceEngine {
  const info: EngineInfo = {
    model: MODEL,
    dtype: 'fp32',
    engine: 'scripted',
    device: 'cpu',
    deviceReason: 'test',
    loadMs: 0,
    maxContextTokens: 2048,
    maxNewTokensLimit: 512,
    concurrency: 1,
    batchMax: 1,
    vocabSize: 100,
  };
  const engine: InferenceEngine = {
    load: async () => 0,
    countInputTokens: async () => 5,
    decode: async (ids) => ids.join(' '),
    async generate(request: GenerateRequest): Promise<GenerateResult> {
      for (let i = 1; i <= tokens; i += 1) {
        if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
        request.onToken?.({ tokens: i });
      }
      const tokenIds = Array.from({ length: tokens }, (_, i) => i + 1);
      return { text: tokenIds.join(' '), tokenIds, usage: { inputTokens: 5, outputTokens: tokens }, finishReason: 'length', durationMs: 0, queuedMs: 0 };
    },
    scoreTokens: async (): Promise<ScoreResult> => {
      throw new Error('not scripted');
    },
    info: () => info,
    dispose: async () => undefined,
  };
  return engine;
}

function signedDispatch(maxNewTokens: number): DispatchInput {
  const requestId = `req-${randomUUID()}`;
  const fields: DispatchInput = {
    wire: OPERATOR_WIRE,
    requestId,
    nodeId: node.nodeId,
    model: MODEL,
    maxNewTokens,
    envelope: sealEnvelope({ messages: [{ role: 'user', content: 'Hello' }] }, toBase64(node.box.publicKey), { requestId }),
    replyToBoxPublicKey: pin.boxPublicKey,
  };
  return { ...fields, coordinatorSignature: signDispatch('executeInference', dispatchFields(fields), coordinator.sign.secretKey) };
}

/** The heartbeats of one dispatch, with their times, and when the dispatch was handed to the activity. */
async function runDispatch(tokens: number, gapMs: number): Promise<{ beats: Array<{ at: number; details: unknown }>; startedAt: number }> {
  const activities = createOperatorActivities({ identity: node, engine: scriptedEngine(tokens, gapMs), logger: silent, coordinator: () => pin });
  const env = new MockActivityEnvironment();
  const beats: Array<{ at: number; details: unknown }> = [];
  env.on('heartbeat', (details: unknown) => beats.push({ at: performance.now(), details }));
  const input = signedDispatch(tokens);
  const startedAt = performance.now();
  const result = (await env.run(activities.executeInference, input)) as DispatchResult;
  expect(result.usage.outputTokens).toBe(tokens);
  return { beats, startedAt };
}

test('a generation that ends within a quarter second sends no heartbeat', async () => {
  const { beats } = await runDispatch(32, 0);
  expect(beats).toEqual([]);
});

test('a long generation reports progress, token counts only, from a quarter second after it started', async () => {
  // 24 tokens 50 ms apart: at least 1.2 s.
  const { beats, startedAt } = await runDispatch(24, 50);
  expect(beats.length).toBeGreaterThanOrEqual(2);
  expect(beats[0]!.at - startedAt).toBeGreaterThanOrEqual(250);
  for (const beat of beats) expect(beat.details).toEqual({ tokens: expect.any(Number) });
  const counts = beats.map((b) => (b.details as { tokens: number }).tokens);
  expect(counts).toEqual([...counts].sort((a, b) => a - b));
  expect(counts[counts.length - 1]).toBeLessThanOrEqual(24);
});
