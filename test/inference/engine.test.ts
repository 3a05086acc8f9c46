import { existsSync } from 'node:fs';
import path from 'node:path';
import { defaultModelPath } from '../../src/inference/model-source.js';
import type { RunnerOp } from './engine-runner.js';
import { runEngine } from './run-engine.js';

/*
 * The engine runs in child processes: onnxruntime-node's output tensors fail jest's
 * cross-realm typed-array checks ("A float16 tensor's data must be type of Uint16Array").
 * Model: the random-weights tiny Llama (fp16), see its SOURCE.md.
 */
const MODEL = 'tiny-random-LlamaForCausalLM-fp16';

const france = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: 'What is the capital of France? Answer in one sentence.' },
] as const satisfies RunnerOp['messages'];
// Reference output of transformers.js' own pipeline for this prompt (SOURCE.md, 39 prompt tokens).
const FRANCE_32 =
  'Southern abundjoint február retr Ostilingoser mehrere Mathemat jaarєдна Culturalcono Arist Hauptлина St самоupdated avoided przeciไ userloyсобam sod passengers gesch Comment też';

const hi: RunnerOp['messages'] = [{ role: 'user', content: 'Tell me a long story.' }];

beforeAll(() => {
  if (!existsSync(path.join(defaultModelPath(), MODEL))) {
    throw new Error(`Test model missing at ${path.join(defaultModelPath(), MODEL)} (set PARALLELIX_MODEL_PATH)`);
  }
});

describe('inference engine (real model, child processes)', () => {
  test('greedy output is deterministic across processes and matches the plain pipeline', async () => {
    const spec = { ops: [{ messages: [...france], maxNewTokens: 32 }, { messages: [...france], maxNewTokens: 32 }] };
    const [a, b] = await Promise.all([runEngine(spec), runEngine(spec)]);
    expect(a.pid).not.toBe(b.pid);
    const all = [...a.results, ...b.results];
    expect(all.every((r) => r.ok)).toBe(true);
    expect(new Set(all.map((r) => r.text)).size).toBe(1);
    expect(a.results[0]?.text).toBe(FRANCE_32);
    expect(a.results[0]?.usage).toEqual({ inputTokens: 39, outputTokens: 32 });
    expect(a.results[0]?.tokensSeen).toBe(32);
    expect(a.info?.loadMs).toBeGreaterThan(0);
  });

  test("device 'auto' really probes WebGPU and logs one line with the device and why", async () => {
    const auto = await runEngine({ device: 'auto', ops: [{ messages: [...france], maxNewTokens: 8 }] });
    const deviceLines = auto.logs.filter((l) => l.msg?.startsWith('inference device:'));
    expect(deviceLines).toHaveLength(1);
    const line = deviceLines[0]!;
    expect(line.device).toBe(auto.info?.device);
    expect(line.requested).toBe('auto');
    expect(line.msg).toContain(String(auto.info?.deviceReason));
    expect(auto.results[0]?.ok).toBe(true);

    // An explicit 'webgpu' never falls back: it must agree with what 'auto' found.
    const webgpu = await runEngine({ device: 'webgpu', ops: [] });
    if (auto.info?.device === 'cpu') {
      expect(line.reason).toMatch(/webgpu unavailable/);
      expect(webgpu.loadError?.code).toBe('MODEL_LOAD_FAILED');
    } else {
      expect(webgpu.info?.device).toBe('webgpu');
    }
  });

  test('limits are enforced before generation with typed errors', async () => {
    const out = await runEngine({
      maxContextTokens: 64,
      maxNewTokensLimit: 100,
      ops: [
        { messages: [...france], maxNewTokens: 26 }, // 39 + 26 > 64
        { messages: [...france], maxNewTokens: 25 }, // 39 + 25 = 64: fits
        { messages: [{ role: 'user', content: 'hi' }], maxNewTokens: 101 },
        { messages: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }], maxNewTokens: 4 },
        { messages: [], maxNewTokens: 4 },
        { messages: [{ role: 'user', content: 'hi' }], maxNewTokens: 0 },
        // Llama 2's template renders a lone system message as nothing: refused before generate, which would crash on it.
        { messages: [{ role: 'system', content: 'Only instructions.' }], maxNewTokens: 4 },
      ],
    });
    const codes = out.results.map((r) => (r.ok ? 'OK' : r.error?.code));
    expect(codes).toEqual([
      'PROMPT_TOO_LONG',
      'OK',
      'MAX_NEW_TOKENS_EXCEEDED',
      'INVALID_INPUT', // the chat template rejects non-alternating roles
      'INVALID_INPUT',
      'INVALID_INPUT',
      'INVALID_INPUT',
    ]);
    expect(out.results[6]?.error).toMatchObject({ name: 'InvalidInputError', message: expect.stringMatching(/empty prompt/) });
    expect(out.results[0]?.tokensSeen).toBe(0);
    expect(out.results[1]?.usage).toEqual({ inputTokens: 39, outputTokens: 25 });
  });

  test('abort mid-generation stops promptly with GenerationCancelledError', async () => {
    const out = await runEngine({
      maxNewTokensLimit: 1500,
      ops: [
        { messages: hi, maxNewTokens: 1500, abortAfterTokens: 5 },
        { messages: hi, maxNewTokens: 8, preAborted: true },
        { messages: hi, maxNewTokens: 12 }, // the engine still works after a cancel
      ],
    });
    const [cancelled, preAborted, after] = out.results;
    expect(cancelled?.ok).toBe(false);
    expect(cancelled?.error?.code).toBe('GENERATION_CANCELLED');
    expect(cancelled?.error?.outputTokens).toBeGreaterThanOrEqual(5);
    expect(cancelled?.error?.outputTokens).toBeLessThan(10);
    expect(cancelled?.tokensSeen).toBeLessThan(10);
    expect(preAborted?.error).toMatchObject({ code: 'GENERATION_CANCELLED', outputTokens: 0 });
    expect(preAborted?.tokensSeen).toBe(0);
    expect(after?.ok).toBe(true);
    expect(after?.usage?.outputTokens).toBe(12);
  });

  test('the semaphore serialises generations at concurrency 1; a queued call can be cancelled', async () => {
    const ops: RunnerOp[] = [
      { messages: [...france], maxNewTokens: 24 },
      { messages: hi, maxNewTokens: 24 },
      { messages: hi, maxNewTokens: 24, abortAfterMs: 0 }, // still queued when its signal fires
    ];
    const serial = await runEngine({ concurrency: 1, parallel: true, ops });
    const [first, second, third] = serial.results;
    expect(first?.ok && second?.ok).toBe(true);
    expect(third?.error).toMatchObject({ code: 'GENERATION_CANCELLED', outputTokens: 0 });
    // No interleaving: all of op 0's tokens, then all of op 1's.
    const order = serial.events.map((e) => e.split(':')[0]);
    expect(order).toEqual([...Array(24).fill('0'), ...Array(24).fill('1')]);

    // The second waited for the first's whole generation: it queued at least about as long as the first ran.
    expect(second!.queuedMs!).toBeGreaterThan(first!.durationMs! / 2);

    const concurrent = await runEngine({ concurrency: 2, parallel: true, ops: ops.slice(0, 2) });
    expect(concurrent.results.map((r) => r.text)).toEqual([first?.text, second?.text]);
    // Without the limit neither waits for the other (whether their tokens then interleave is up to the scheduler).
    const [a, b] = concurrent.results;
    expect(b!.queuedMs!).toBeLessThan(a!.durationMs! / 2);
  });
});
