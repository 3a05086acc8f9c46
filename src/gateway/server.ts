import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { PrismaClient } from '../db/client.js';
import type { ParallelixClient } from '../sdk/index.js';
import type { Logger } from '../shared/logger.js';
import { resolveApiKey, type ResolvedApiKey } from './api-keys.js';
import { registerChatRoute } from './chat-route.js';
import { GatewayHttpError } from './errors.js';
import { errorBody, toGatewayError } from './http-errors.js';
import { listOfferedModels, toOpenAiModel } from './models.js';
import { formatDuration, rateLimitHeaders, takeRequest } from './rate-limit.js';
import { registerResponsesRoute } from './responses-route.js';
import { idempotencyKeyOf, REQUEST_ID_HEADER, type RouteContext } from './route-context.js';

export { REQUEST_ID_HEADER } from './route-context.js';

export interface GatewayOptions {
  sdk: ParallelixClient;
  db: PrismaClient;
  logger: Logger;
  /** `max_tokens` when a request names none (capped by the model's nodes). Default 256. */
  defaultMaxTokens?: number;
  /** Largest request body in bytes. Default 2 MiB (Temporal's payload limit is about that). */
  bodyLimit?: number;
  /** Origins browser apps may call from: `'*'` or a list. Default none: no CORS headers, preflights get 404. */
  corsOrigins?: '*' | string[];
  /** Inference requests per minute per API key, shared by every gateway process on the database. 0: no limit. Default 600. */
  requestsPerMinute?: number;
}

/** Each HTTP exchange's id, as OpenAI's `x-request-id` (the openai client's `_request_id`). */
const HTTP_REQUEST_ID_HEADER = 'x-request-id';
const EXPOSED_HEADERS = [
  HTTP_REQUEST_ID_HEADER,
  REQUEST_ID_HEADER,
  'x-ratelimit-limit-requests',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-reset-requests',
  'retry-after',
  'retry-after-ms',
];

/** The routes a key's request rate limit counts. */
const INFERENCE_ROUTES = new Set(['/v1/chat/completions', '/v1/responses']);

/**
 * The OpenAI-compatible HTTP gateway: `POST /v1/chat/completions` and `POST /v1/responses` (JSON or server-sent
 * events), `GET /v1/models`, `GET /v1/models/:model`, and an unauthenticated `GET /health`. Every `/v1` call needs
 * `Authorization: Bearer pxk_…`; the key's user pays in credits. Errors use OpenAI's `{ error: { message, type,
 * param, code } }` shape; every response carries `x-request-id`.
 *
 * A request, once submitted, is never cancelled by the gateway: when the client disconnects (mid-stream or while
 * waiting) the run still completes and is charged. Retrying with the same `Idempotency-Key` header reaches the
 * same run and answers its result without a second charge.
 */
export function createGateway(options: GatewayOptions): FastifyInstance {
  const { sdk, db, logger: log } = options;
  const requestsPerMinute = options.requestsPerMinute ?? 600;
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit ?? 2 * 1024 * 1024,
    genReqId: () => `req_${randomUUID().replaceAll('-', '')}`,
  });
  const keys = new WeakMap<FastifyRequest, ResolvedApiKey>();

  const authOf = (request: FastifyRequest): ResolvedApiKey => {
    const key = keys.get(request);
    if (!key) throw new GatewayHttpError(401, 'Missing API key.', { type: 'invalid_request_error', code: 'invalid_api_key' });
    return key;
  };

  // Set first, so every answer carries it: errors, 404s and hijacked event streams (which copy the reply's headers).
  app.addHook('onRequest', async (request, reply) => {
    reply.header(HTTP_REQUEST_ID_HEADER, request.id);
  });

  if (options.corsOrigins) {
    void app.register(cors, {
      origin: options.corsOrigins === '*' ? '*' : options.corsOrigins,
      methods: ['GET', 'POST', 'OPTIONS'],
      exposedHeaders: EXPOSED_HEADERS,
      maxAge: 600,
    });
  }

  // After onRequest (where CORS adds its headers, so a browser can read a 401 too) and before the body is parsed.
  app.addHook('preParsing', async (request, reply) => {
    if (!request.url.startsWith('/v1/') || request.method === 'OPTIONS') return;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) {
      throw new GatewayHttpError(401, 'You didn\'t provide an API key. Send it as "Authorization: Bearer pxk_…".', {
        type: 'invalid_request_error',
        code: 'invalid_api_key',
      });
    }
    const key = await resolveApiKey(db, match[1]);
    if (!key) throw new GatewayHttpError(401, 'Incorrect or revoked API key provided.', { type: 'invalid_request_error', code: 'invalid_api_key' });
    keys.set(request, key);
    if (!INFERENCE_ROUTES.has(request.routeOptions.url ?? '') || requestsPerMinute <= 0) return;
    const decision = await takeRequest(db, key.keyId, { requestsPerMinute });
    reply.headers(rateLimitHeaders(decision));
    if (!decision.allowed) {
      throw new GatewayHttpError(
        429,
        `Rate limit reached for requests per min (RPM): Limit ${decision.limit}. Please try again in ${formatDuration(decision.retryAfterMs)}.`,
        { type: 'requests', code: 'rate_limit_exceeded' },
      );
    }
  });

  app.setErrorHandler((error, request, reply) => {
    const answer = toGatewayError(error);
    const entry = { httpRequestId: request.id, method: request.method, route: request.routeOptions.url, status: answer.status, code: answer.code };
    // Only ids, statuses and error names: never bodies, prompts or stacks.
    if (answer.status >= 500 && answer.code === 'internal_error') log.error({ ...entry, error: (error as Error | null)?.name }, 'gateway request failed');
    else log.info(entry, 'gateway request refused');
    return reply.status(answer.status).header(HTTP_REQUEST_ID_HEADER, request.id).send(errorBody(answer));
  });

  app.setNotFoundHandler((request, reply) => {
    const answer = new GatewayHttpError(404, `Unknown route ${request.method} ${request.url.split('?')[0]}.`, {
      type: 'invalid_request_error',
      code: 'unknown_url',
    });
    return reply.status(404).send(errorBody(answer));
  });

  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/v1/models', async () => ({ object: 'list', data: (await listOfferedModels(db)).map(toOpenAiModel) }));

  // A wildcard: Hugging Face model ids contain a slash.
  app.get<{ Params: { '*': string } }>('/v1/models/*', async (request) => {
    const id = request.params['*'];
    const found = (await listOfferedModels(db)).find((m) => m.id === id);
    if (!found) {
      throw new GatewayHttpError(404, `The model '${id}' does not exist or no live node serves it.`, {
        type: 'invalid_request_error',
        code: 'model_not_found',
        param: 'model',
      });
    }
    return toOpenAiModel(found);
  });

  const context: RouteContext = {
    calls: { sdk, db, defaultMaxTokens: options.defaultMaxTokens ?? 256 },
    log,
    authOf,
    idempotencyOf: idempotencyKeyOf,
  };
  registerChatRoute(app, context);
  registerResponsesRoute(app, context);
  return app;
}
