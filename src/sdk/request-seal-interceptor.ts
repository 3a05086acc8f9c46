import type { ClientInterceptors, WorkflowClientInterceptor, WorkflowStartInput } from '@temporalio/client';
import type { CodecKey } from '../codec/codec-key.js';
import { deriveRequestSealKey, sealRequest, type RequestSealKey } from '../crypto/request-seal.js';
import { INFERENCE_WORKFLOW } from '../protocol/inference.js';

/** The start options with the inference input sealed for this workflow id; other workflow types pass unchanged. */
function sealed<T extends Pick<WorkflowStartInput, 'workflowType' | 'options'>>(key: RequestSealKey, input: T): T {
  if (input.workflowType !== INFERENCE_WORKFLOW) return input;
  const [request, ...rest] = input.options.args;
  if (typeof request !== 'object' || request === null) return input;
  const { platformSeal: _stale, ...fields } = request as Record<string, unknown>;
  const platformSeal = sealRequest(key, input.options.workflowId, fields);
  return { ...input, options: { ...input.options, args: [{ ...fields, platformSeal }, ...rest] } };
}

/**
 * The platform's client interceptor: every `inferenceWorkflow` this client starts carries the platform's seal
 * (src/crypto/request-seal.ts) over its input and workflow id, which step 01 checks. Only holders of the codec key
 * (SDK, gateway, CLI, the coordinator's own tools) can make one.
 */
export function requestSealInterceptor(codecKey: CodecKey): WorkflowClientInterceptor {
  const key = deriveRequestSealKey(codecKey);
  return {
    startWithDetails: (input, next) => next(sealed(key, input)),
    signalWithStart: (input, next) => next(sealed(key, input)),
  };
}

/** Interceptors of every platform client (`new Client({ ..., interceptors: platformClientInterceptors(key) })`). */
export function platformClientInterceptors(codecKey: CodecKey): ClientInterceptors {
  return { workflow: [requestSealInterceptor(codecKey)] };
}
