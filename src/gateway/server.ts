import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { PrismaClient } from '../db/client.js';
import type { ParallelixClient, RequestHandle } from '../sdk/index.js';
import type { Logger } from '../shared/logger.js';
import { resolveApiKey } from './api-keys.js';
import { parseChatRequest, type ParsedChatRequest } from './chat-request.js';
import { chatCompletion, chunk, completionId, extrasOf, finishReasonOf, sseData, unixSeconds, usageOf } from './chat-response.js';
import { GatewayHttpError } from './errors.js';
import { errorBody, toGatewayError } from './http-errors.js';
import { listOfferedModels } from './models.js';

export interface GatewayOptions {
  sdk: ParallelixClient;
  db: PrismaClient;
  logger: Logger;
  /** `max_tokens` when a request names none. Default 256 (the operators' default limit). */
  defaultMaxTokens?: number;
  /** Largest request body in bytes. Default 2 MiB (Temporal's payload limit is about that). */
  bodyLimit?: number;
}

export const REQUEST_ID_HEADER = 'x-parallelix-request-id';
const IDEMPOTENCY_KEY_MAX = 200;

/**
 * The OpenAI-compatible HTTP gateway: `POST /v1/chat/completions` (JSON or server-sent events), `GET /v1/models`,
 * `GET /v1/models/:model`, and an unauthenticated `GET /health`. Every `/v1` call needs `Authorization: Bearer
 * pxk_…`; the key's user pays in credits. Errors use OpenAI's `{ error: { message, type, param, code } }` shape.
 *
 * A request, once submitted, is never cancelled by the gateway: when the client disconnects (mid-stream or while
 * waiting) the run still completes and is charged. Retrying with the same `Idempotency-Key` header reaches the
 * same run and answers its result without a second charge.
 */
export function createGateway(options: GatewayOptions): FastifyInstance {
  const { sdk, db, logger: log } = options;
  const defaultMaxTokens = options.defaultMaxTokens ?? 256;
  const app = Fastify({ logger: false, bodyLimit: options.bodyLimit ?? 2 * 1024 * 1024 });
  const users = new WeakMap<FastifyRequest, string>();

  const userOf = (request: FastifyRequest): string => {
    const userId = users.get(request);
    if (!userId) throw new GatewayHttpError(401, 'Missing API key.', { type: 'invalid_request_error', code: 'invalid_api_key' });
    return userId;
  };

  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/v1/')) return;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) {
      throw new GatewayHttpError(401, 'You didn\'t provide an API key. Send it as "Authorization: Bearer pxk_…".', {
        type: 'invalid_request_error',
        code: 'invalid_api_key',
      });
    }
    const userId = await resolveApiKey(db, match[1]);
    if (!userId) {
      throw new GatewayHttpError(401, 'Incorrect or revoked API key provided.', { type: 'invalid_request_error', code: 'invalid_api_key' });
    }
    users.set(request, userId);
  });

  app.setErrorHandler((error, request, reply) => {
    const answer = toGatewayError(error);
    const entry = { method: request.method, route: request.routeOptions.url, status: answer.status, code: answer.code };
    // Only ids, statuses and error names: never bodies, prompts or stacks.
    if (answer.status >= 500 && answer.code === 'internal_error') log.error({ ...entry, error: (error as Error | null)?.name }, 'gateway request failed');
    else log.info(entry, 'gateway request refused');
    return reply.status(answer.status).send(errorBody(answer));
  });

  app.setNotFoundHandler((request, reply) => {
    const answer = new GatewayHttpError(404, `Unknown route ${request.method} ${request.url.split('?')[0]}.`, {
      type: 'invalid_request_error',
      code: 'unknown_url',
    });
    return reply.status(404).send(errorBody(answer));
  });

  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/v1/models', async () => ({ object: 'list', data: await listOfferedModels(db) }));

  app.get<{ Params: { model: string } }>('/v1/models/:model', async (request) => {
    const found = (await listOfferedModels(db)).find((m) => m.id === request.params.model);
    if (!found) {
      throw new GatewayHttpError(404, `The model '${request.params.model}' is not offered by any active node.`, {
        type: 'invalid_request_error',
        code: 'model_not_found',
        param: 'model',
      });
    }
    return found;
  });

  app.post('/v1/chat/completions', async (request, reply) => {
    const userId = userOf(request);
    const chat = parseChatRequest(request.body, defaultMaxTokens);
    const idempotencyKey = idempotencyKeyOf(request);
    const handle = await sdk.submit({
      userId,
      model: chat.model,
      messages: chat.messages,
      maxNewTokens: chat.maxNewTokens,
      ...(idempotencyKey ? { idempotencyKey } : {}),
    });
    if (chat.stream) return streamCompletion(handle, chat, reply, log);
    const result = await handle.result();
    log.info({ requestId: result.requestId, workflowId: handle.workflowId, tokensIn: result.usage.inputTokens, tokensOut: result.usage.outputTokens }, 'chat completion');
    reply.header(REQUEST_ID_HEADER, result.requestId);
    return chatCompletion(result, chat.model, chat.maxNewTokens);
  });

  return app;
}

function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const value = request.headers['idempotency-key'];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > IDEMPOTENCY_KEY_MAX) {
    throw new GatewayHttpError(400, `Invalid Idempotency-Key header: send one value of 1 to ${IDEMPOTENCY_KEY_MAX} characters.`, {
      type: 'invalid_request_error',
      code: 'invalid_idempotency_key',
      param: 'Idempotency-Key',
    });
  }
  return value;
}

/**
 * Answers as server-sent `chat.completion.chunk` events. Waits for the first text (or the failure) before the
 * status line, so refusals (402, 503, …) still get their HTTP status; the text only exists after verification.
 */
async function streamCompletion(handle: RequestHandle, chat: ParsedChatRequest, reply: FastifyReply, log: Logger): Promise<void> {
  const iterator = handle.stream()[Symbol.asyncIterator]();
  const first = await iterator.next();
  const requestId = await handle.requestId();
  const base = { id: completionId(requestId), created: unixSeconds(), model: chat.model };

  reply.hijack();
  const raw = reply.raw;
  // A disconnect only stops the writing: the run is paid for and completes (see createGateway).
  let open = !raw.destroyed && raw.socket !== null && !raw.socket.destroyed;
  raw.on('close', () => {
    open = false;
  });
  if (open) {
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      [REQUEST_ID_HEADER]: requestId,
    });
  }
  const send = (payload: unknown): void => {
    if (open) raw.write(sseData(payload));
  };

  try {
    send(chunk(base, { role: 'assistant', content: '' }));
    for (let step = first; !step.done && open; step = await iterator.next()) send(chunk(base, { content: step.value }));
    if (!open) {
      log.info({ requestId, workflowId: handle.workflowId }, 'client left during streaming; the request completes and is charged');
      return;
    }
    const result = await handle.result();
    send({ ...chunk(base, {}, finishReasonOf(result, chat.maxNewTokens)), parallelix: extrasOf(result) });
    if (chat.includeUsage) send({ ...base, object: 'chat.completion.chunk', choices: [], usage: usageOf(result) });
    send('[DONE]');
    log.info({ requestId, workflowId: handle.workflowId, tokensIn: result.usage.inputTokens, tokensOut: result.usage.outputTokens }, 'chat completion streamed');
  } catch (error) {
    const answer = toGatewayError(error);
    log.error({ requestId, status: answer.status, code: answer.code }, 'streamed request failed');
    send(errorBody(answer));
  } finally {
    if (open) raw.end();
  }
}
