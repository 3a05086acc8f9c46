import path from 'node:path';

export interface BenchOptions {
  mode: 'quick' | 'full';
  /** `--sampling-only`: only step 11's tolerant check on the engine (full sizes), no stack. */
  samplingOnly: boolean;
  /** `--stack-only`: skip step 11's engine-level quality run (minutes) and measure only the stack. */
  stackOnly: boolean;
  maxNewTokens: number;
  /** Raw-engine generations per prompt (after warm-up). */
  rawRepeats: number;
  /** Sequential pipeline requests for the p = 0 latency distribution. */
  latencyRequests: number;
  /** Sequential requests per sampling probability (p = 0.1 and 1; p = 0 reuses the latency run). */
  samplingRequests: number;
  concurrencies: number[];
  nodeCounts: number[];
  /** Requests per throughput point: max(minimum, perSlot × concurrency). */
  throughputMinRequests: number;
  throughputPerSlot: number;
  warmupRequests: number;
  /** Step 11's tolerant check on the engine (bench/sampling-quality.ts). */
  samplingQuality: {
    perturbationSizes: number[];
    honestPairsPerSize: number;
    dishonestPerStrategy: number;
    costLengths: number[];
    costRepeats: number;
  };
  /** Requests per point of the p = 0 vs p = 0.1 throughput comparison. */
  samplingThroughputRequests: number;
  /** How long the stack sits idle while its idle CPU rate per process is measured. */
  idleWindowMs: number;
  /** `--cpu-profile=DIR`: the stack's coordinator and operator processes write V8 CPU profiles there (absolute path). */
  cpuProfileDir?: string;
}

const CPU_PROFILE = '--cpu-profile=';

export function parseOptions(argv: string[]): BenchOptions {
  const unknown = argv.filter((a) => !['--quick', '--sampling-only', '--stack-only', '--'].includes(a) && !a.startsWith(CPU_PROFILE));
  if (unknown.length > 0) throw new Error(`unknown argument(s): ${unknown.join(' ')} (usage: npm run bench [-- --quick] [-- --sampling-only | --stack-only] [-- --cpu-profile=DIR])`);
  const profileArg = argv.find((a) => a.startsWith(CPU_PROFILE))?.slice(CPU_PROFILE.length);
  if (profileArg === '') throw new Error('--cpu-profile= needs a folder');
  const profile = profileArg === undefined ? {} : { cpuProfileDir: path.resolve(profileArg) };
  const samplingOnly = argv.includes('--sampling-only');
  const stackOnly = argv.includes('--stack-only');
  if (samplingOnly && stackOnly) throw new Error('--sampling-only and --stack-only exclude each other');
  if (argv.includes('--quick')) {
    return {
      mode: 'quick',
      samplingOnly,
      stackOnly,
      maxNewTokens: 32,
      rawRepeats: 5,
      latencyRequests: 40,
      samplingRequests: 20,
      concurrencies: [1, 4, 16],
      nodeCounts: [1, 3],
      throughputMinRequests: 8,
      throughputPerSlot: 2,
      warmupRequests: 3,
      samplingQuality: { perturbationSizes: [0, 0.001, 0.003, 0.01, 0.03, 0.1], honestPairsPerSize: 100, dishonestPerStrategy: 50, costLengths: [32, 128, 512], costRepeats: 3 },
      samplingThroughputRequests: 40,
      idleWindowMs: 5_000,
      ...profile,
    };
  }
  return {
    mode: 'full',
    samplingOnly,
    stackOnly,
    maxNewTokens: 32,
    rawRepeats: 10,
    latencyRequests: 200,
    samplingRequests: 100,
    concurrencies: [1, 4, 16, 64],
    nodeCounts: [1, 3, 8],
    throughputMinRequests: 40,
    throughputPerSlot: 4,
    warmupRequests: 6,
    samplingQuality: { perturbationSizes: [0, 0.001, 0.003, 0.01, 0.03, 0.1], honestPairsPerSize: 500, dishonestPerStrategy: 200, costLengths: [32, 128, 512], costRepeats: 10 },
    samplingThroughputRequests: 200,
    idleWindowMs: 15_000,
    ...profile,
  };
}

/** `--rounds=N` (default 4), the one argument of `npm run bench:rounds` and `npm run bench:floor`. */
export function parseRoundsArg(argv: string[], script: string): number {
  const arg = argv.find((a) => a.startsWith('--rounds='));
  const unknown = argv.filter((a) => a !== '--' && a !== arg);
  if (unknown.length > 0) throw new Error(`unknown argument(s): ${unknown.join(' ')} (usage: npm run ${script} [-- --rounds=N])`);
  const rounds = arg === undefined ? 4 : Number(arg.slice('--rounds='.length));
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds= needs a positive integer');
  return rounds;
}
