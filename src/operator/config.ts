import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { defaultModelPath } from '../inference/model-source.js';
import { stateDir } from '../shared/paths.js';
import { nonEmpty, parseEnv } from '../shared/parse-env.js';
import type { LogitNoise } from '../sampling/logit-noise.js';
import { ConfigError } from '../shared/errors.js';
import { OPERATOR_ENDPOINT_PORT } from '../protocol/operator-endpoint-wire.js';

/** Everything an operator process needs; see parseOperatorConfig for the environment variables. */
export interface OperatorConfig {
  /**
   * The coordinator's operator endpoint (src/operator-endpoint/): the node logs in there with its key and its
   * Temporal workers connect through it. Operators hold no Temporal address or namespace credentials.
   */
  endpoint: {
    address: string;
    tls: boolean;
    /** CA of the endpoint's certificate (PEM), when it is not signed by a public CA. */
    caFile?: string;
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
  /**
   * PARALLELIX_OPERATOR_BATCH_MAX: greedy dispatches run together as one batched generation, at most this many
   * (default 1: each alone). The node then holds concurrency × batchMax dispatches at once.
   */
  batchMax: number;
  /** onnxruntime CPU threads: explicit (PARALLELIX_INTRA_OP_THREADS) or `auto` (sized to the model's weights). */
  intraOpThreads: number | 'auto';
  /** PARALLELIX_INTRA_OP_SPINNING: let idle onnxruntime threads spin (default off: less CPU, same wall time). */
  intraOpSpinning: boolean;
  /** How long in-flight inferences may finish after SIGINT/SIGTERM before they are cancelled. */
  shutdownGraceMs: number;
  /** PARALLELIX_OPERATOR_READY_FILE: where to write OperatorReadyInfo once the node polls (for the process that started it). */
  readyFile?: string;
  /**
   * TEST AND BENCHMARK ONLY (PARALLELIX_TEST_LOGIT_NOISE, _SEED): seeded logit noise before the greedy argmax, an
   * honest stand-in for another device. Refused unless NODE_ENV=test.
   */
  testLogitNoise?: LogitNoise;
  /**
   * BENCHMARK ONLY (PARALLELIX_TEST_DIRECT_TEMPORAL_ADDRESS, _NAMESPACE): connect straight to Temporal, bypassing the
   * operator endpoint, to measure what the endpoint adds. Refused unless NODE_ENV=test.
   */
  testDirectTemporal?: { address: string; namespace: string };
}

/** Values from CLI flags; each one set wins over its environment variable. */
export type OperatorConfigOverrides = Partial<{
  endpoint: string;
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
  PARALLELIX_OPERATOR_ENDPOINT: z.string().regex(/^[^\s:]+:\d+$/, 'must be host:port').optional(),
  PARALLELIX_OPERATOR_ENDPOINT_TLS: bool.optional(),
  PARALLELIX_OPERATOR_ENDPOINT_TLS_CA: z.string().min(1).optional(),
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
  PARALLELIX_OPERATOR_BATCH_MAX: positiveInt(64).default(1),
  PARALLELIX_INTRA_OP_THREADS: z.union([z.literal('auto'), positiveInt(1024)]).default('auto'),
  PARALLELIX_INTRA_OP_SPINNING: bool.default(false),
  PARALLELIX_OPERATOR_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
  PARALLELIX_OPERATOR_READY_FILE: z.string().min(1).optional(),
  PARALLELIX_TEST_LOGIT_NOISE: z.coerce.number().min(0).max(10).optional(),
  PARALLELIX_TEST_LOGIT_NOISE_SEED: z.coerce.number().int().min(0).max(0xffffffff).default(1),
  PARALLELIX_TEST_DIRECT_TEMPORAL_ADDRESS: z.string().regex(/^[^\s:]+:\d+$/, 'must be host:port').optional(),
  PARALLELIX_TEST_DIRECT_TEMPORAL_NAMESPACE: z.string().min(1).default('parallelix'),
});

const overrideToEnv: Record<keyof OperatorConfigOverrides, keyof z.input<typeof envSchema>> = {
  endpoint: 'PARALLELIX_OPERATOR_ENDPOINT',
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
 * The operator endpoint of the local stack (`parallelix start` writes it to `<state>/stack.json`), if one runs.
 * Read here without the stack's modules: an operator loads nothing of the coordinator side.
 */
function localStackOperatorEndpoint(): string | undefined {
  const file = path.join(stateDir(), 'stack.json');
  if (!existsSync(file)) return undefined;
  try {
    const stack = JSON.parse(readFileSync(file, 'utf8')) as { operatorEndpoint?: { address?: unknown } };
    return typeof stack.operatorEndpoint?.address === 'string' ? stack.operatorEndpoint.address : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Operator configuration from environment variables (PARALLELIX_OPERATOR_ENDPOINT: host:port of the operator
 * endpoint, default the local stack's or 127.0.0.1:7280; PARALLELIX_OPERATOR_ENDPOINT_TLS,
 * PARALLELIX_OPERATOR_ENDPOINT_TLS_CA (PEM file, implies TLS); PARALLELIX_OPERATOR_NAME, PARALLELIX_OPERATOR_KEY_FILE, PARALLELIX_MODEL, PARALLELIX_MODEL_PATH,
 * PARALLELIX_MODEL_DTYPE, PARALLELIX_DEVICE, PARALLELIX_MAX_CONTEXT_TOKENS, PARALLELIX_MAX_NEW_TOKENS,
 * PARALLELIX_OPERATOR_CONCURRENCY, PARALLELIX_OPERATOR_BATCH_MAX, PARALLELIX_INTRA_OP_THREADS (a count or `auto`), PARALLELIX_INTRA_OP_SPINNING,
 * PARALLELIX_OPERATOR_SHUTDOWN_GRACE_MS); `overrides` (CLI flags) win. Empty strings count as unset. Throws ConfigError.
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
  if (e.PARALLELIX_TEST_DIRECT_TEMPORAL_ADDRESS !== undefined && merged.NODE_ENV !== 'test') {
    throw new ConfigError('invalid operator configuration', {
      details: 'PARALLELIX_TEST_DIRECT_TEMPORAL_ADDRESS bypasses the operator endpoint: it is for benchmarks only (NODE_ENV=test)',
    });
  }
  return {
    endpoint: {
      address: e.PARALLELIX_OPERATOR_ENDPOINT ?? localStackOperatorEndpoint() ?? `127.0.0.1:${OPERATOR_ENDPOINT_PORT}`,
      tls: e.PARALLELIX_OPERATOR_ENDPOINT_TLS ?? e.PARALLELIX_OPERATOR_ENDPOINT_TLS_CA !== undefined,
      ...(e.PARALLELIX_OPERATOR_ENDPOINT_TLS_CA ? { caFile: path.resolve(e.PARALLELIX_OPERATOR_ENDPOINT_TLS_CA) } : {}),
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
    batchMax: e.PARALLELIX_OPERATOR_BATCH_MAX,
    intraOpThreads: e.PARALLELIX_INTRA_OP_THREADS,
    intraOpSpinning: e.PARALLELIX_INTRA_OP_SPINNING,
    shutdownGraceMs: e.PARALLELIX_OPERATOR_SHUTDOWN_GRACE_MS,
    ...(e.PARALLELIX_OPERATOR_READY_FILE ? { readyFile: path.resolve(e.PARALLELIX_OPERATOR_READY_FILE) } : {}),
    ...(e.PARALLELIX_TEST_LOGIT_NOISE !== undefined
      ? { testLogitNoise: { size: e.PARALLELIX_TEST_LOGIT_NOISE, seed: e.PARALLELIX_TEST_LOGIT_NOISE_SEED } }
      : {}),
    ...(e.PARALLELIX_TEST_DIRECT_TEMPORAL_ADDRESS
      ? { testDirectTemporal: { address: e.PARALLELIX_TEST_DIRECT_TEMPORAL_ADDRESS, namespace: e.PARALLELIX_TEST_DIRECT_TEMPORAL_NAMESPACE } }
      : {}),
  };
}
