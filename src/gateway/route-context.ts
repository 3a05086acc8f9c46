import type { FastifyRequest } from 'fastify';
import type { Logger } from '../shared/logger.js';
import type { ResolvedApiKey } from './api-keys.js';
import { GatewayHttpError } from './errors.js';
import type { CallDeps } from './inference-call.js';

/** The ParalleliX request id (step 02's) of the run behind a response. */
export const REQUEST_ID_HEADER = 'x-parallelix-request-id';
const IDEMPOTENCY_KEY_MAX = 200;

/** What the inference routes share. */
export interface RouteContext {
  calls: CallDeps;
  log: Logger;
  /** The caller's key, checked before the route runs. */
  authOf(request: FastifyRequest): ResolvedApiKey;
  /** The request's Idempotency-Key header, checked; empty when absent. */
  idempotencyOf(request: FastifyRequest): { idempotencyKey?: string };
}

export function idempotencyKeyOf(request: FastifyRequest): { idempotencyKey?: string } {
  const value = request.headers['idempotency-key'];
  if (value === undefined) return {};
  if (typeof value !== 'string' || value.length === 0 || value.length > IDEMPOTENCY_KEY_MAX) {
    throw new GatewayHttpError(400, `Invalid Idempotency-Key header: send one value of 1 to ${IDEMPOTENCY_KEY_MAX} characters.`, {
      type: 'invalid_request_error',
      code: 'invalid_idempotency_key',
      param: 'Idempotency-Key',
    });
  }
  return { idempotencyKey: value };
}
