import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from '../shared/logger.js';
import { toGatewayError, type ParamNames } from './http-errors.js';
import { finishReasonOf, type SubmittedCall } from './inference-call.js';
import { registerInferenceRoute } from './inference-route.js';
import { parseResponsesRequest, type ParsedResponsesRequest } from './responses-request.js';
import { outputMessage, outputText, responseObject, responseShell } from './responses-response.js';
import { REQUEST_ID_HEADER, type RouteContext } from './route-context.js';
import { openSse, verifiedTextStream } from './sse.js';

const RESPONSES_PARAMS: ParamNames = { messages: 'input', maxTokens: 'max_output_tokens' };

/** `POST /v1/responses`: OpenAI's Responses API for text, as JSON or as its typed server-sent events. */
export function registerResponsesRoute(app: FastifyInstance, context: RouteContext): void {
  registerInferenceRoute(app, context, {
    url: '/v1/responses',
    params: RESPONSES_PARAMS,
    parse: parseResponsesRequest,
    answer: (result, submitted, parsed) =>
      responseObject(responseShell(result.requestId, parsed, submitted.maxNewTokens), { result, finishReason: finishReasonOf(result, submitted.maxNewTokens) }),
    stream: streamResponse,
  });
}

/**
 * The Responses API's event sequence: created, in_progress, output_item.added, content_part.added, one
 * output_text.delta per token-sized piece, output_text.done, content_part.done, output_item.done, then completed
 * (or incomplete at max_output_tokens). Each event names its type in `event:` and carries a sequence number.
 */
async function streamResponse(submitted: SubmittedCall, parsed: ParsedResponsesRequest, reply: FastifyReply, log: Logger): Promise<void> {
  const { handle } = submitted;
  const { progress, pieces } = await verifiedTextStream(handle);
  const requestId = progress.requestId ?? (await handle.requestId());
  const shell = responseShell(requestId, parsed, submitted.maxNewTokens);
  const itemId = shell.ids.message;
  const sse = openSse(reply, { [REQUEST_ID_HEADER]: requestId });
  let sequence = 0;
  const emit = (type: string, fields: Record<string, unknown>): void => sse.send({ type, sequence_number: sequence++, ...fields }, type);
  const at = { output_index: 0 };
  const part = { ...at, item_id: itemId, content_index: 0 };
  try {
    emit('response.created', { response: responseObject(shell) });
    emit('response.in_progress', { response: responseObject(shell) });
    emit('response.output_item.added', { ...at, item: outputMessage(shell.ids, null, 'in_progress') });
    emit('response.content_part.added', { ...part, part: outputText('') });
    let text = '';
    for await (const piece of pieces) {
      if (!sse.open) break;
      text += piece;
      emit('response.output_text.delta', { ...part, delta: piece, logprobs: [] });
    }
    if (!sse.open) {
      log.info({ requestId, workflowId: handle.workflowId }, 'client left during streaming; the request completes and is charged');
      return;
    }
    const result = await handle.result();
    const finishReason = finishReasonOf(result, submitted.maxNewTokens);
    const final = responseObject(shell, { result, finishReason });
    emit('response.output_text.done', { ...part, text, logprobs: [] });
    emit('response.content_part.done', { ...part, part: outputText(text) });
    emit('response.output_item.done', { ...at, item: final.output[0] });
    emit(final.status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response: final });
    log.info({ requestId, workflowId: handle.workflowId, tokensIn: result.usage.inputTokens, tokensOut: result.usage.outputTokens }, 'response streamed');
  } catch (error) {
    const answer = toGatewayError(error, RESPONSES_PARAMS);
    log.error({ requestId, status: answer.status, code: answer.code }, 'streamed response failed');
    emit('error', { code: answer.code, message: answer.message, param: answer.param });
  } finally {
    sse.end();
  }
}
