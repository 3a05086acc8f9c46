import { selfCpuMs } from './proc-cpu.js';
import { BENCH_PROMPTS } from './prompts.js';
import { distribution, type Distribution } from './stats.js';
import { operatorDefaultThreads, testModelEngine } from './test-model-engine.js';

export interface RawEngineResult {
  model: string;
  dtype: string;
  device: string;
  loadMs: number;
  generations: number;
  /** Wall time of generate() per call, ms (tokenisation, chat template, decoding included). */
  latencyMs: Distribution;
  /** Output tokens / wall time, per call. */
  tokensPerSecond: Distribution;
  outputTokens: Distribution;
  inputTokens: Distribution;
  /** CPU ms (user + system, all threads of this process) per generation over the timed rounds. */
  cpuMsPerGeneration: number;
}

/** The reference: the same engine the operators run, called directly in this process on the same prompts. */
export async function benchRawEngine(options: { maxNewTokens: number; repeats: number; progress: (msg: string) => void }): Promise<RawEngineResult> {
  const threads = operatorDefaultThreads();
  const engine = testModelEngine({ intraOpThreads: threads.intraOpThreads, intraOpSpinning: threads.spinning });
  try {
    const loadMs = await engine.load();
    for (const messages of BENCH_PROMPTS) await engine.generate({ messages, maxNewTokens: options.maxNewTokens });
    const latencies: number[] = [];
    const rates: number[] = [];
    const outputs: number[] = [];
    const inputs: number[] = [];
    const cpuFrom = selfCpuMs();
    for (let r = 0; r < options.repeats; r += 1) {
      for (const messages of BENCH_PROMPTS) {
        const started = performance.now();
        const result = await engine.generate({ messages, maxNewTokens: options.maxNewTokens });
        const ms = performance.now() - started;
        latencies.push(ms);
        rates.push(result.usage.outputTokens / (ms / 1000));
        outputs.push(result.usage.outputTokens);
        inputs.push(result.usage.inputTokens);
      }
      options.progress(`raw engine: round ${r + 1}/${options.repeats}`);
    }
    const cpuMsPerGeneration = (selfCpuMs() - cpuFrom) / latencies.length;
    const info = engine.info();
    return {
      model: info.model,
      dtype: info.dtype,
      device: info.device,
      loadMs,
      generations: latencies.length,
      latencyMs: distribution(latencies),
      tokensPerSecond: distribution(rates),
      outputTokens: distribution(outputs),
      inputTokens: distribution(inputs),
      cpuMsPerGeneration,
    };
  } finally {
    await engine.dispose();
  }
}
