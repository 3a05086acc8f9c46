import { z } from 'zod';
import type { ModelPrice } from './pricing.js';
import { parseEnv } from '../config/parse-env.js';

const probability = z.coerce.number().min(0).max(1);
const positiveInt = z.coerce.number().int().positive();

const envSchema = z.object({
  PARALLELIX_SAMPLE_PROBABILITY: probability.default(0.1),
  PARALLELIX_MAX_NODES_TRIED: positiveInt.default(3),
  PARALLELIX_DISPATCH_SCHEDULE_TO_START_SECONDS: positiveInt.default(10),
  PARALLELIX_DISPATCH_TIMEOUT_SECONDS: positiveInt.default(300),
  PARALLELIX_DISPATCH_HEARTBEAT_SECONDS: positiveInt.default(30),
  PARALLELIX_MIN_UPTIME: probability.default(0.5),
  PARALLELIX_UPTIME_WINDOW_SECONDS: positiveInt.default(3600),
  PARALLELIX_PRICE_INPUT_PER_TOKEN: positiveInt.default(1),
  PARALLELIX_PRICE_OUTPUT_PER_TOKEN: positiveInt.default(2),
  PARALLELIX_PENALTY_REPUTATION_FACTOR: z.coerce.number().gt(0).lt(1).default(0.5),
});

/** Coordinator policy, from the environment. Passed to each workflow run as its settings. */
export interface PipelineSettings {
  sampleProbability: number;
  maxNodesTried: number;
  dispatchScheduleToStartSeconds: number;
  dispatchTimeoutSeconds: number;
  /** A node that sends no progress for this long is taken as dead (e.g. killed mid-inference). */
  dispatchHeartbeatSeconds: number;
}

export interface CoordinatorPolicy {
  pipeline: PipelineSettings;
  minUptime: number;
  uptimeWindowMs: number;
  price: ModelPrice;
  penaltyReputationFactor: number;
}

export function loadCoordinatorPolicy(env: NodeJS.ProcessEnv = process.env): CoordinatorPolicy {
  const e = parseEnv(envSchema, env, 'coordinator');
  return {
    pipeline: {
      sampleProbability: e.PARALLELIX_SAMPLE_PROBABILITY,
      maxNodesTried: e.PARALLELIX_MAX_NODES_TRIED,
      dispatchScheduleToStartSeconds: e.PARALLELIX_DISPATCH_SCHEDULE_TO_START_SECONDS,
      dispatchTimeoutSeconds: e.PARALLELIX_DISPATCH_TIMEOUT_SECONDS,
      dispatchHeartbeatSeconds: e.PARALLELIX_DISPATCH_HEARTBEAT_SECONDS,
    },
    minUptime: e.PARALLELIX_MIN_UPTIME,
    uptimeWindowMs: e.PARALLELIX_UPTIME_WINDOW_SECONDS * 1000,
    price: { inputPerToken: e.PARALLELIX_PRICE_INPUT_PER_TOKEN, outputPerToken: e.PARALLELIX_PRICE_OUTPUT_PER_TOKEN },
    penaltyReputationFactor: e.PARALLELIX_PENALTY_REPUTATION_FACTOR,
  };
}
