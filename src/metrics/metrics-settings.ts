import { z } from 'zod';
import { parseEnv } from '../shared/parse-env.js';

/**
 * Where a process serves its Prometheus metrics: PARALLELIX_METRICS_PORT (unset: no endpoint; 0: a free port,
 * printed at start-up) on PARALLELIX_METRICS_HOST (default 127.0.0.1; 0.0.0.0 to let a Prometheus on another host
 * scrape). The conventional ports are in docs/deploy.md.
 */
export interface MetricsSettings {
  host: string;
  port: number | null;
}

const envSchema = z.object({
  PARALLELIX_METRICS_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  PARALLELIX_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
});

export function loadMetricsSettings(env: NodeJS.ProcessEnv = process.env): MetricsSettings {
  const e = parseEnv(envSchema, env, 'metrics');
  return { host: e.PARALLELIX_METRICS_HOST, port: e.PARALLELIX_METRICS_PORT ?? null };
}

/** Conventional metrics ports, one per kind of process (documented in docs/deploy.md). */
export const METRICS_PORTS = {
  coordinator: 9464,
  gateway: 9465,
  operatorEndpoint: 9466,
  operator: 9467,
} as const;
