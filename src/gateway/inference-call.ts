import type { PrismaClient } from '../db/client.js';
import type { ChatMessage } from '../protocol/inference.js';
import { MAX_NEW_TOKENS } from '../protocol/inference-input.js';
import type { ParallelixClient, RequestHandle, SubmitResult } from '../sdk/index.js';
import { GatewayHttpError } from './errors.js';
import { findOfferedModel, systemFingerprint, type OfferedModel } from './models.js';

/** One inference as either API asks for it, before the model and limits are checked. */
export interface InferenceCall {
  userId: string;
  model: string;
  messages: ChatMessage[];
  /** null: the client named no limit. */
  maxTokens: number | null;
  /** The field that names the limit in this API, for the 400 that refuses it. */
  maxTokensParam: string;
  idempotencyKey?: string;
}

export interface SubmittedCall {
  handle: RequestHandle;
  offered: OfferedModel;
  maxNewTokens: number;
}

export interface CallDeps {
  sdk: ParallelixClient;
  db: PrismaClient;
  /** The limit when the client names none (capped by what the model's nodes accept). */
  defaultMaxTokens: number;
}

/**
 * Refuses what no live node can serve before anything is submitted (so nothing is held, charged or remembered
 * under an idempotency key): 404 for a model no live node offers, 400 for a `max_tokens` above every node's limit.
 * Then submits through the SDK.
 */
export async function submitCall(deps: CallDeps, call: InferenceCall): Promise<SubmittedCall> {
  const offered = await findOfferedModel(deps.db, call.model);
  if (!offered) {
    throw new GatewayHttpError(404, `The model '${call.model}' does not exist or no live node serves it (GET /v1/models lists what is on offer).`, {
      type: 'invalid_request_error',
      code: 'model_not_found',
      param: 'model',
    });
  }
  const largest = Math.min(offered.maxOutputTokens, MAX_NEW_TOKENS);
  const maxNewTokens = call.maxTokens ?? Math.min(deps.defaultMaxTokens, largest);
  if (maxNewTokens > largest) {
    throw new GatewayHttpError(
      400,
      `${call.maxTokensParam} is too large: ${maxNewTokens}. This model supports at most ${largest} completion tokens, whereas you provided ${maxNewTokens}.`,
      { type: 'invalid_request_error', code: 'invalid_value', param: call.maxTokensParam },
    );
  }
  const handle = await deps.sdk.submit({
    userId: call.userId,
    model: call.model,
    messages: call.messages,
    maxNewTokens,
    ...(call.idempotencyKey ? { idempotencyKey: call.idempotencyKey } : {}),
  });
  return { handle, offered, maxNewTokens };
}

/** The fingerprint of the node that ran the request (as it was registered when the request arrived). */
export function fingerprintOf(submitted: SubmittedCall, nodeId: string | null): string {
  return systemFingerprint(submitted.offered.id, submitted.offered.nodes.find((node) => node.nodeId === nodeId));
}

/**
 * 'stop' when the model ended on its own, 'length' when it reached `max_tokens`. The node's word is bounded by
 * the counts: fewer tokens than the limit cannot be 'length'. Runs recorded before nodes reported it fall back to
 * the counts alone.
 */
export function finishReasonOf(result: SubmitResult, maxNewTokens: number): 'stop' | 'length' {
  if (result.usage.outputTokens < maxNewTokens) return 'stop';
  return result.finishReason ?? 'length';
}
