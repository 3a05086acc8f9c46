import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from '../shared/logger.js';
import { parseChatRequest, type ParsedChatRequest } from './chat-request.js';
import { chatCompletion, chunk, completionId, extrasOf, unixSeconds, usageChunk, type ChunkBase } from './chat-response.js';
import { CHAT_PARAMS, errorBody, toGatewayError, type ParamNames } from './http-errors.js';
import { finishReasonOf, fingerprintOf, type SubmittedCall } from './inference-call.js';
import { registerInferenceRoute } from './inference-route.js';
import { REQUEST_ID_HEADER, type RouteContext } from './route-context.js';
import { openSse, verifiedTextStream } from './sse.js';

const chatParams = (parsed: ParsedChatRequest | undefined): ParamNames => ({ ...CHAT_PARAMS, maxTokens: parsed?.maxTokensParam ?? CHAT_PARAMS.maxTokens });

/** `POST /v1/chat/completions`: one chat completion, as JSON or as server-sent `chat.completion.chunk` events. */
export function registerChatRoute(app: FastifyInstance, context: RouteContext): void {
  registerInferenceRoute(app, context, {
    url: '/v1/chat/completions',
    params: chatParams,
    parse: parseChatRequest,
    answer: (result, submitted, chat) => chatCompletion(result, chat.model, fingerprintOf(submitted, result.nodeId), finishReasonOf(result, submitted.maxNewTokens)),
    stream: streamChat,
  });
}

async function streamChat(submitted: SubmittedCall, chat: ParsedChatRequest, reply: FastifyReply, log: Logger): Promise<void> {
  const { handle } = submitted;
  const { progress, pieces } = await verifiedTextStream(handle);
  const requestId = progress.requestId ?? (await handle.requestId());
  const base: ChunkBase = {
    id: completionId(requestId),
    created: unixSeconds(),
    model: chat.model,
    // The matched node: only when a sampled majority overrules it (rare) is the delivered text another node's.
    system_fingerprint: fingerprintOf(submitted, progress.nodeId),
    includeUsage: chat.includeUsage,
  };
  const sse = openSse(reply, { [REQUEST_ID_HEADER]: requestId });
  try {
    sse.send(chunk(base, { role: 'assistant', content: '' }));
    for await (const piece of pieces) {
      if (!sse.open) break;
      sse.send(chunk(base, { content: piece }));
    }
    if (!sse.open) {
      log.info({ requestId, workflowId: handle.workflowId }, 'client left during streaming; the request completes and is charged');
      return;
    }
    const result = await handle.result();
    sse.send({ ...chunk(base, {}, finishReasonOf(result, submitted.maxNewTokens)), parallelix: extrasOf(result) });
    if (chat.includeUsage) sse.send(usageChunk(base, result));
    sse.send('[DONE]');
    log.info({ requestId, workflowId: handle.workflowId, tokensIn: result.usage.inputTokens, tokensOut: result.usage.outputTokens }, 'chat completion streamed');
  } catch (error) {
    const answer = toGatewayError(error, chatParams(chat));
    log.error({ requestId, status: answer.status, code: answer.code }, 'streamed request failed');
    sse.send(errorBody(answer));
  } finally {
    sse.end();
  }
}
