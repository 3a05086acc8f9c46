import { z } from 'zod';
import type { ModelPrice } from './pricing.js';
import { parseEnv } from '../shared/parse-env.js';
import { DEFAULT_TOLERANT_THRESHOLDS, validateThresholds, type TolerantThresholds } from '../sampling/tolerant-check.js';
import { ConfigError } from '../shared/errors.js';

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
  PARALLELIX_UPTIME_CACHE_SECONDS: z.coerce.number().min(0).max(3600).default(5),
  PARALLELIX_PRICE_INPUT_PER_TOKEN: positiveInt.default(1),
  PARALLELIX_PRICE_OUTPUT_PER_TOKEN: positiveInt.default(2),
  PARALLELIX_PENALTY_REPUTATION_FACTOR: z.coerce.number().gt(0).lt(1).default(0.5),
  PARALLELIX_ANCHOR_ATTEMPTS: positiveInt.default(20),
  PARALLELIX_ANCHOR_WAIT_SECONDS: positiveInt.default(24 * 3600),
  PARALLELIX_SAMPLE_MODE: z.enum(['exact', 'tolerant']).default('tolerant'),
  PARALLELIX_ANCHOR_BATCH_MAX: z.coerce.number().int().min(0).max(512).default(0),
  PARALLELIX_NODE_KEY_CACHE_SIZE: z.coerce.number().int().min(0).default(10_000),
  PARALLELIX_SAMPLE_TOLERANCE: z.coerce.number().min(0).max(100).default(DEFAULT_TOLERANT_THRESHOLDS.tolerance),
  PARALLELIX_SAMPLE_TOP_K: positiveInt.default(DEFAULT_TOLERANT_THRESHOLDS.topK),
  PARALLELIX_SAMPLE_MAX_FAIL_SHARE: probability.default(DEFAULT_TOLERANT_THRESHOLDS.maxFailShare),
  PARALLELIX_SAMPLE_MAX_FAIL_RUN: z.coerce.number().int().min(0).default(DEFAULT_TOLERANT_THRESHOLDS.maxFailRun),
  PARALLELIX_SAMPLE_MAX_GAP: z.coerce.number().min(0).max(1000).default(DEFAULT_TOLERANT_THRESHOLDS.maxGap),
  PARALLELIX_HOLD_SWEEP_INTERVAL_SECONDS: z.coerce.number().positive().default(60),
  PARALLELIX_HOLD_SWEEP_MIN_AGE_SECONDS: z.coerce.number().min(0).default(60),
  PARALLELIX_HOLD_SWEEP_GRACE_SECONDS: z.coerce.number().min(0).default(300),
  PARALLELIX_PENALTY_SUSPEND_AFTER: positiveInt.default(10),
  PARALLELIX_NODE_ALLOWLIST_FILE: z.string().min(1).optional(),
});

/** How step 11 checks node_i: re-generate and compare bytes, or score node_i's tokens in one forward pass. */
export type SampleMode = 'exact' | 'tolerant';

/** Coordinator policy, from the environment. Passed to each workflow run as its settings. */
export interface PipelineSettings {
  sampleProbability: number;
  maxNodesTried: number;
  dispatchScheduleToStartSeconds: number;
  dispatchTimeoutSeconds: number;
  /** A node that sends no progress for this long is taken as dead (e.g. killed mid-inference). */
  dispatchHeartbeatSeconds: number;
  sampleMode: SampleMode;
  /** Tolerant mode's thresholds (docs/sampling.md). */
  tolerantThresholds: TolerantThresholds;
  /** Step 12's attempts before the run waits for the chain (absent in runs started before: 20). */
  anchorAttempts?: number;
  /** How long a run waits for the chain past those attempts before releasing its hold (absent: 24 h). */
  anchorWaitSeconds?: number;
}

export interface CoordinatorPolicy {
  pipeline: PipelineSettings;
  minUptime: number;
  uptimeWindowMs: number;
  /**
   * PARALLELIX_UPTIME_CACHE_SECONDS: how long a node's uptime is reused by matching and settling (default 5 s, under
   * the health probes' 10 s interval; 0: every match and settle reads it).
   */
  uptimeCacheMs: number;
  price: ModelPrice;
  penaltyReputationFactor: number;
  /**
   * PARALLELIX_ANCHOR_BATCH_MAX: 0 (default) anchors each record in its own transaction with its own storage; N > 0
   * group-commits records under Merkle roots, at most N per transaction (src/chain/anchor-group-commit.ts).
   */
  anchorBatchMax: number;
  /** PARALLELIX_NODE_KEY_CACHE_SIZE: node signing keys kept in memory per process (0: every lookup reads the database). */
  nodeKeyCacheSize: number;
  /** A node whose penalty count reaches this is SUSPENDED (never matched again until approved). */
  suspendAfterPenalties: number;
  /** A file of node ids (one a line, `#` comments) admitted ACTIVE at registration; others wait PENDING for approval. */
  nodeAllowlistFile: string | null;
  holdSweep: HoldSweepSettings;
}

/** The hold sweeper's timing (src/coordinator/hold-sweeper.ts). */
export interface HoldSweepSettings {
  intervalMs: number;
  /** Holds younger than this are not looked at. */
  minAgeMs: number;
  /** A run closed less than this long ago keeps its hold (a local activity of a terminated run may still finish). */
  graceMs: number;
}

export function loadCoordinatorPolicy(env: NodeJS.ProcessEnv = process.env): CoordinatorPolicy {
  const e = parseEnv(envSchema, env, 'coordinator');
  const thresholds: TolerantThresholds = {
    tolerance: e.PARALLELIX_SAMPLE_TOLERANCE,
    topK: e.PARALLELIX_SAMPLE_TOP_K,
    maxFailShare: e.PARALLELIX_SAMPLE_MAX_FAIL_SHARE,
    maxFailRun: e.PARALLELIX_SAMPLE_MAX_FAIL_RUN,
    maxGap: e.PARALLELIX_SAMPLE_MAX_GAP,
  };
  try {
    validateThresholds(thresholds);
  } catch (error) {
    throw new ConfigError('invalid coordinator configuration', { details: `PARALLELIX_SAMPLE_*: ${(error as Error).message}` });
  }
  return {
    pipeline: {
      sampleProbability: e.PARALLELIX_SAMPLE_PROBABILITY,
      maxNodesTried: e.PARALLELIX_MAX_NODES_TRIED,
      dispatchScheduleToStartSeconds: e.PARALLELIX_DISPATCH_SCHEDULE_TO_START_SECONDS,
      dispatchTimeoutSeconds: e.PARALLELIX_DISPATCH_TIMEOUT_SECONDS,
      dispatchHeartbeatSeconds: e.PARALLELIX_DISPATCH_HEARTBEAT_SECONDS,
      sampleMode: e.PARALLELIX_SAMPLE_MODE,
      tolerantThresholds: thresholds,
      anchorAttempts: e.PARALLELIX_ANCHOR_ATTEMPTS,
      anchorWaitSeconds: e.PARALLELIX_ANCHOR_WAIT_SECONDS,
    },
    minUptime: e.PARALLELIX_MIN_UPTIME,
    uptimeWindowMs: e.PARALLELIX_UPTIME_WINDOW_SECONDS * 1000,
    uptimeCacheMs: e.PARALLELIX_UPTIME_CACHE_SECONDS * 1000,
    price: { inputPerToken: e.PARALLELIX_PRICE_INPUT_PER_TOKEN, outputPerToken: e.PARALLELIX_PRICE_OUTPUT_PER_TOKEN },
    penaltyReputationFactor: e.PARALLELIX_PENALTY_REPUTATION_FACTOR,
    anchorBatchMax: e.PARALLELIX_ANCHOR_BATCH_MAX,
    nodeKeyCacheSize: e.PARALLELIX_NODE_KEY_CACHE_SIZE,
    suspendAfterPenalties: e.PARALLELIX_PENALTY_SUSPEND_AFTER,
    nodeAllowlistFile: e.PARALLELIX_NODE_ALLOWLIST_FILE ?? null,
    holdSweep: {
      intervalMs: e.PARALLELIX_HOLD_SWEEP_INTERVAL_SECONDS * 1000,
      minAgeMs: e.PARALLELIX_HOLD_SWEEP_MIN_AGE_SECONDS * 1000,
      graceMs: e.PARALLELIX_HOLD_SWEEP_GRACE_SECONDS * 1000,
    },
  };
}
