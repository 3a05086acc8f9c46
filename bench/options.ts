export interface BenchOptions {
  mode: 'quick' | 'full';
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
}

export function parseOptions(argv: string[]): BenchOptions {
  const unknown = argv.filter((a) => a !== '--quick' && a !== '--');
  if (unknown.length > 0) throw new Error(`unknown argument(s): ${unknown.join(' ')} (usage: npm run bench [-- --quick])`);
  if (argv.includes('--quick')) {
    return {
      mode: 'quick',
      maxNewTokens: 32,
      rawRepeats: 5,
      latencyRequests: 40,
      samplingRequests: 20,
      concurrencies: [1, 4, 16],
      nodeCounts: [1, 3],
      throughputMinRequests: 8,
      throughputPerSlot: 2,
      warmupRequests: 3,
    };
  }
  return {
    mode: 'full',
    maxNewTokens: 32,
    rawRepeats: 10,
    latencyRequests: 200,
    samplingRequests: 100,
    concurrencies: [1, 4, 16, 64],
    nodeCounts: [1, 3, 8],
    throughputMinRequests: 40,
    throughputPerSlot: 4,
    warmupRequests: 6,
  };
}
