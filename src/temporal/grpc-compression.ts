import type { GrpcCompressionConfig } from '@temporalio/worker';
import { z } from 'zod';
import { parseEnv } from '../shared/parse-env.js';

const envSchema = z.object({
  PARALLELIX_TEMPORAL_GRPC_COMPRESSION: z.enum(['none', 'gzip']).default('none'),
});

/**
 * Transport compression of a worker's connection to Temporal (the coordinator's, an operator's), from
 * PARALLELIX_TEMPORAL_GRPC_COMPRESSION: `none` unless set to `gzip` (the SDK's own default). What the platform puts
 * in Temporal is encrypted or sealed and does not shrink, yet with gzip every request and poll response was
 * compressed and inflated again on both ends: the Temporal server, the worker and the operator endpoint.
 */
export function temporalGrpcCompression(env: NodeJS.ProcessEnv = process.env): { grpcCompression: GrpcCompressionConfig } {
  return { grpcCompression: { codec: parseEnv(envSchema, env, 'Temporal connection').PARALLELIX_TEMPORAL_GRPC_COMPRESSION } };
}
