import path from 'node:path';
import { z } from 'zod';
import { defaultModelPath } from '../inference/model-source.js';
import { stateDir } from '../shared/paths.js';
import { nonEmpty, parseEnv } from '../config/parse-env.js';
import type { LogitNoise } from '../sampling/logit-noise.js';
import { ConfigError } from '../shared/errors.js';

/** Everything an operator process needs; see parseOperatorConfig for the environment variables. */
export interface OperatorConfig {
  temporal: {
    address: string;
    namespace: string;
    /** API key for a hosted Temporal (implies TLS). */
    apiKey?: string;
    tls: boolean;
  };
  name: string;
  keyFile: string;
  model: string;
  modelPath: string;
  dtype: string;
  device: 'auto' | 'webgpu' | 'cpu';
  maxContextTokens: number;
  maxNewTokens: number;
  concurrency: number;
  /** onnxruntime CPU threads: explicit (PARALLELIX_INTRA_OP_THREADS) or `auto` (sized to the model's weights). */
  intraOpThreads: number | 'auto';
  /** PARALLELIX_INTRA_OP_SPINNING: let idle onnxruntime threads spin (default off: less CPU, same wall time). */
  intraOpSpinning: boolean;
  /** How long in-flight inferences may finish after SIGINT/SIGTERM before they are cancelled. */
  shutdownGraceMs: number;
  /**
   * TEST AND BENCHMARK ONLY (PARALLELIX_TEST_LOGIT_NOISE, _SEED): seeded logit noise before the greedy argmax, an
   * honest stand-in for another device. Refused unless NODE_ENV=test.
   */
  testLogitNoise?: LogitNoise;
}

/** Values from CLI flags; each one set wins over its environment variable. */
export type OperatorConfigOverrides = Partial<{
  temporalAddress: string;
  temporalNamespace: string;
  name: string;
  keyFile: string;
  model: string;
  modelPath: string;
  dtype: string;
  device: string;
  maxContextTokens: number | string;
  maxNewTokens: number | string;
  concurrency: number | string;
  intraOpThreads: number | string;
}>;

const positiveInt = (max: number) => z.coerce.number().int().min(1).max(max);
const bool = z.enum(['1', '0', 'true', 'false']).transform((v) => v === '1' || v === 'true');

const envSchema = z.object({
  PARALLELIX_TEMPORAL_ADDRESS: z.string().regex(/^[^\s:]+:\d+$/, 'must be host:port').default('127.0.0.1:7233'),
  PARALLELIX_TEMPORAL_NAMESPACE: z.string().min(1).default('parallelix'),
  PARALLELIX_TEMPORAL_API_KEY: z.string().min(1).optional(),
  PARALLELIX_TEMPORAL_TLS: bool.optional(),
  PARALLELIX_OPERATOR_NAME: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-"')
    .default('default'),
  PARALLELIX_OPERATOR_KEY_FILE: z.string().min(1).optional(),
  PARALLELIX_MODEL: z.string().min(1).default('tiny-random-LlamaForCausalLM-fp16'),
  PARALLELIX_MODEL_PATH: z.string().min(1).optional(),
  PARALLELIX_MODEL_DTYPE: z.string().regex(/^[a-z0-9_]+$/, 'must be an ONNX dtype such as fp16, q4, fp32').default('fp16'),
  PARALLELIX_DEVICE: z.enum(['auto', 'webgpu', 'cpu']).default('auto'),
  PARALLELIX_MAX_CONTEXT_TOKENS: positiveInt(1_048_576).default(2048),
  PARALLELIX_MAX_NEW_TOKENS: positiveInt(1_048_576).default(256),
  PARALLELIX_OPERATOR_CONCURRENCY: positiveInt(64).default(1),
  PARALLELIX_INTRA_OP_THREADS: z.union([z.literal('auto'), positiveInt(1024)]).default('auto'),
  PARALLELIX_INTRA_OP_SPINNING: bool.default(false),
  PARALLELIX_OPERATOR_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
  PARALLELIX_TEST_LOGIT_NOISE: z.coerce.number().min(0).max(10).optional(),
  PARALLELIX_TEST_LOGIT_NOISE_SEED: z.coerce.number().int().min(0).max(0xffffffff).default(1),
});

const overrideToEnv: Record<keyof OperatorConfigOverrides, keyof z.input<typeof envSchema>> = {
  temporalAddress: 'PARALLELIX_TEMPORAL_ADDRESS',
  temporalNamespace: 'PARALLELIX_TEMPORAL_NAMESPACE',
  name: 'PARALLELIX_OPERATOR_NAME',
  keyFile: 'PARALLELIX_OPERATOR_KEY_FILE',
  model: 'PARALLELIX_MODEL',
  modelPath: 'PARALLELIX_MODEL_PATH',
  dtype: 'PARALLELIX_MODEL_DTYPE',
  device: 'PARALLELIX_DEVICE',
  maxContextTokens: 'PARALLELIX_MAX_CONTEXT_TOKENS',
  maxNewTokens: 'PARALLELIX_MAX_NEW_TOKENS',
  concurrency: 'PARALLELIX_OPERATOR_CONCURRENCY',
  intraOpThreads: 'PARALLELIX_INTRA_OP_THREADS',
};

/**
 * Operator configuration from environment variables (PARALLELIX_TEMPORAL_ADDRESS, PARALLELIX_TEMPORAL_NAMESPACE,
 * PARALLELIX_OPERATOR_NAME, PARALLELIX_OPERATOR_KEY_FILE, PARALLELIX_MODEL, PARALLELIX_MODEL_PATH,
 * PARALLELIX_MODEL_DTYPE, PARALLELIX_DEVICE, PARALLELIX_MAX_CONTEXT_TOKENS, PARALLELIX_MAX_NEW_TOKENS,
 * PARALLELIX_OPERATOR_CONCURRENCY, PARALLELIX_INTRA_OP_THREADS (a count or `auto`), PARALLELIX_INTRA_OP_SPINNING,
 * PARALLELIX_OPERATOR_SHUTDOWN_GRACE_MS, PARALLELIX_TEMPORAL_API_KEY,
 * PARALLELIX_TEMPORAL_TLS); `overrides` (CLI flags) win. Empty strings count as unset. Throws ConfigError.
 */
export function parseOperatorConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: OperatorConfigOverrides = {},
): OperatorConfig {
  const merged: Record<string, string> = nonEmpty(env);
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined && value !== '') merged[overrideToEnv[key as keyof OperatorConfigOverrides]] = String(value);
  }
  const e = parseEnv(envSchema, merged, 'operator');
  if (e.PARALLELIX_TEST_LOGIT_NOISE !== undefined && merged.NODE_ENV !== 'test') {
    throw new ConfigError('invalid operator configuration', {
      details: 'PARALLELIX_TEST_LOGIT_NOISE perturbs the model on purpose: it is for tests and benchmarks only (NODE_ENV=test)',
    });
  }
  return {
    temporal: {
      address: e.PARALLELIX_TEMPORAL_ADDRESS,
      namespace: e.PARALLELIX_TEMPORAL_NAMESPACE,
      ...(e.PARALLELIX_TEMPORAL_API_KEY ? { apiKey: e.PARALLELIX_TEMPORAL_API_KEY } : {}),
      tls: e.PARALLELIX_TEMPORAL_TLS ?? e.PARALLELIX_TEMPORAL_API_KEY !== undefined,
    },
    name: e.PARALLELIX_OPERATOR_NAME,
    keyFile: path.resolve(
      e.PARALLELIX_OPERATOR_KEY_FILE ?? path.join(stateDir(), 'operators', e.PARALLELIX_OPERATOR_NAME, 'node-key.json'),
    ),
    model: e.PARALLELIX_MODEL,
    modelPath: path.resolve(e.PARALLELIX_MODEL_PATH ?? defaultModelPath()),
    dtype: e.PARALLELIX_MODEL_DTYPE,
    device: e.PARALLELIX_DEVICE,
    maxContextTokens: e.PARALLELIX_MAX_CONTEXT_TOKENS,
    maxNewTokens: e.PARALLELIX_MAX_NEW_TOKENS,
    concurrency: e.PARALLELIX_OPERATOR_CONCURRENCY,
    intraOpThreads: e.PARALLELIX_INTRA_OP_THREADS,
    intraOpSpinning: e.PARALLELIX_INTRA_OP_SPINNING,
    shutdownGraceMs: e.PARALLELIX_OPERATOR_SHUTDOWN_GRACE_MS,
    ...(e.PARALLELIX_TEST_LOGIT_NOISE !== undefined
      ? { testLogitNoise: { size: e.PARALLELIX_TEST_LOGIT_NOISE, seed: e.PARALLELIX_TEST_LOGIT_NOISE_SEED } }
      : {}),
  };
}
