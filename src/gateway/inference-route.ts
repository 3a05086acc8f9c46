import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ChatMessage } from '../protocol/inference.js';
import type { SubmitResult } from '../sdk/index.js';
import type { Logger } from '../shared/logger.js';
import { toGatewayError, type ParamNames } from './http-errors.js';
import { submitCall, type SubmittedCall } from './inference-call.js';
import { REQUEST_ID_HEADER, type RouteContext } from './route-context.js';

/** What an inference API's request boils down to. */
export interface ParsedInference {
  model: string;
  messages: ChatMessage[];
  maxTokens: number | null;
  stream: boolean;
}

/** One inference API (chat completions, responses): its request parser and its two ways to answer. */
export interface InferenceApi<P extends ParsedInference> {
  url: string;
  /** How this API names the fields errors point at. */
  params: ParamNames | ((parsed: P | undefined) => ParamNames);
  parse(body: unknown): P;
  answer(result: SubmitResult, submitted: SubmittedCall, parsed: P): unknown;
  stream(submitted: SubmittedCall, parsed: P, reply: FastifyReply, log: Logger): Promise<void>;
}

/** Registers `POST url`: parse, check and submit (submitCall), then answer as JSON or stream; refusals in this API's names. */
export function registerInferenceRoute<P extends ParsedInference>(app: FastifyInstance, context: RouteContext, api: InferenceApi<P>): void {
  const { log } = context;
  app.post(api.url, async (request, reply) => {
    let parsed: P | undefined;
    try {
      parsed = api.parse(request.body);
      const submitted = await submitCall(context.calls, {
        userId: context.authOf(request).userId,
        model: parsed.model,
        messages: parsed.messages,
        maxTokens: parsed.maxTokens,
        maxTokensParam: paramsOf(api, parsed).maxTokens,
        ...context.idempotencyOf(request),
      });
      if (parsed.stream) return await api.stream(submitted, parsed, reply, log);
      const result = await submitted.handle.result();
      log.info({ route: api.url, requestId: result.requestId, workflowId: submitted.handle.workflowId, tokensIn: result.usage.inputTokens, tokensOut: result.usage.outputTokens }, 'answered');
      reply.header(REQUEST_ID_HEADER, result.requestId);
      return api.answer(result, submitted, parsed);
    } catch (error) {
      throw toGatewayError(error, paramsOf(api, parsed));
    }
  });
}

function paramsOf<P extends ParsedInference>(api: Pick<InferenceApi<P>, 'params'>, parsed: P | undefined): ParamNames {
  return typeof api.params === 'function' ? api.params(parsed) : api.params;
}
