/**
 * Runs the real inference engine outside jest (onnxruntime-node's tensors fail jest's
 * cross-realm typed-array checks) and prints one JSON line on stdout.
 *
 *   node --import tsx test/inference/engine-runner.ts '<RunnerSpec JSON>'
 *
 * Engine logs (pino JSON) go to stderr, so tests can look for the device line.
 */
import { createLogger } from '../../src/shared/logger.js';
import { ParallelixError } from '../../src/shared/errors.js';
import { createInferenceEngine, defaultModelPath, type ChatMessage, type DevicePreference } from '../../src/inference/engine.js';
import { GenerationCancelledError } from '../../src/inference/errors.js';

export interface RunnerOp {
  messages: ChatMessage[];
  maxNewTokens: number;
  /** Abort from onToken once this many tokens were reported. */
  abortAfterTokens?: number;
  /** Abort this long after the call starts (0: on the next macrotask). */
  abortAfterMs?: number;
  /** Abort before calling. */
  preAborted?: boolean;
}

export interface RunnerSpec {
  device?: DevicePreference;
  maxContextTokens?: number;
  maxNewTokensLimit?: number;
  concurrency?: number;
  /** The engine's batchMax (greedy requests per batched generation). */
  batchMax?: number;
  parallel?: boolean;
  ops: RunnerOp[];
}

export interface RunnerOpResult {
  ok: boolean;
  text?: string;
  usage?: { inputTokens: number; outputTokens: number };
  finishReason?: string;
  /** Time waiting for a generation slot, and generating (engine's own measures). */
  queuedMs?: number;
  durationMs?: number;
  error?: { name: string; code: string; message: string; outputTokens?: number };
  tokensSeen: number;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as RunnerSpec;
  const engine = createInferenceEngine({
    model: process.env.PARALLELIX_TEST_MODEL ?? 'tiny-random-LlamaForCausalLM-fp16',
    dtype: process.env.PARALLELIX_TEST_DTYPE ?? 'fp16',
    device: spec.device ?? 'cpu',
    localModelPath: defaultModelPath(),
    maxContextTokens: spec.maxContextTokens ?? 2048,
    maxNewTokensLimit: spec.maxNewTokensLimit ?? 256,
    concurrency: spec.concurrency ?? 1,
    ...(spec.batchMax ? { batchMax: spec.batchMax } : {}),
    logger: createLogger('inference'),
  });
  let loadError: RunnerOpResult['error'];
  try {
    await engine.load();
  } catch (error) {
    loadError = describe(error);
  }
  const events: string[] = [];
  const runOp = async (op: RunnerOp, index: number): Promise<RunnerOpResult> => {
    const controller = new AbortController();
    let tokensSeen = 0;
    if (op.preAborted) controller.abort();
    if (op.abortAfterMs !== undefined) setTimeout(() => controller.abort(), op.abortAfterMs);
    try {
      const result = await engine.generate({
        messages: op.messages,
        maxNewTokens: op.maxNewTokens,
        signal: controller.signal,
        onToken: ({ tokens }) => {
          tokensSeen = tokens;
          events.push(`${index}:${tokens}`);
          if (op.abortAfterTokens !== undefined && tokens >= op.abortAfterTokens) controller.abort();
        },
      });
      return {
        ok: true,
        text: result.text,
        usage: result.usage,
        finishReason: result.finishReason,
        queuedMs: result.queuedMs,
        durationMs: result.durationMs,
        tokensSeen,
      };
    } catch (error) {
      return { ok: false, error: describe(error), tokensSeen };
    }
  };
  const results = loadError
    ? []
    : spec.parallel
      ? await Promise.all(spec.ops.map(runOp))
      : await spec.ops.reduce<Promise<RunnerOpResult[]>>(
          async (acc, op, i) => [...(await acc), await runOp(op, i)],
          Promise.resolve([]),
        );
  const info = loadError ? null : engine.info();
  await engine.dispose();
  process.stdout.write(JSON.stringify({ pid: process.pid, info, loadError, results, events }) + '\n');
}

function describe(error: unknown): NonNullable<RunnerOpResult['error']> {
  if (error instanceof ParallelixError) {
    return {
      name: error.name,
      code: error.code,
      message: error.message,
      ...(error instanceof GenerationCancelledError ? { outputTokens: error.outputTokens } : {}),
    };
  }
  const e = error instanceof Error ? error : new Error(String(error));
  return { name: e.name, code: 'UNEXPECTED', message: e.message };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
