import { ParallelixError, type ParallelixErrorOptions } from '../shared/errors.js';

/** OpenAI's error `type` values the gateway answers with. */
export type OpenAiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'insufficient_quota'
  | 'requests'
  | 'service_unavailable'
  | 'server_error';

export interface GatewayErrorOptions extends ParallelixErrorOptions {
  type: OpenAiErrorType;
  /** OpenAI's `code` field (snake_case), also this error's `code`. */
  code: string;
  /** The offending request field, as OpenAI's `param` (e.g. `messages[0].role`). */
  param?: string | null;
}

/** An HTTP error answered in OpenAI's error shape: `{ error: { message, type, param, code } }`. */
export class GatewayHttpError extends ParallelixError {
  override readonly code: string;
  readonly status: number;
  readonly type: OpenAiErrorType;
  readonly param: string | null;

  constructor(status: number, message: string, options: GatewayErrorOptions) {
    super(message, options);
    this.status = status;
    this.type = options.type;
    this.code = options.code;
    this.param = options.param ?? null;
  }
}
