/**
 * One typed error family shared by the SDK, CLI, gateway, coordinator and operator (after viem's BaseError).
 * Every error has a stable `code` a caller can match on (src/protocol/failures.ts lists those that cross
 * Temporal), a short message, optional details and a cause chain that `walk()` follows.
 */
export interface ParallelixErrorOptions {
  details?: string;
  cause?: unknown;
}

export class ParallelixError extends Error {
  readonly code: string = 'PARALLELIX_ERROR';
  /** The message without its details: what may leave this process (details can quote the request). */
  readonly shortMessage: string;
  readonly details: string | undefined;

  constructor(message: string, options: ParallelixErrorOptions = {}) {
    super(options.details ? `${message}\n\nDetails: ${options.details}` : message, { cause: options.cause });
    this.name = new.target.name;
    this.shortMessage = message;
    this.details = options.details;
  }

  /** The first error along the cause chain (this one included) that `fn` accepts; without `fn`, the deepest cause. */
  walk(fn?: (error: unknown) => boolean): unknown {
    let error: unknown = this;
    for (;;) {
      if (fn?.(error)) return error;
      const cause: unknown = error instanceof Error ? error.cause : undefined;
      if (cause === undefined) return fn ? null : error;
      error = cause;
    }
  }
}

/** Configuration is missing or invalid (environment variables, files). */
export class ConfigError extends ParallelixError {
  override readonly code = 'CONFIG_INVALID';
}

/** A component of the local stack (Temporal, database, chain) could not be provisioned or started. */
export class ProvisioningError extends ParallelixError {
  override readonly code = 'PROVISIONING_FAILED';
}

/** Caller input was rejected at the edge. */
export class InvalidInputError extends ParallelixError {
  override readonly code: string = 'INVALID_INPUT';
}

/**
 * The user's balance cannot cover the request's maximum cost (a missing account is a zero balance). Nothing was
 * held, dispatched or charged. Thrown by the credit ledger and, mapped back from the failure, by the SDK.
 */
export class InsufficientCreditsError extends ParallelixError {
  override readonly code = 'INSUFFICIENT_CREDITS';
  /** The amounts in micro-credits, where known (the SDK knows them when the coordinator sent them). */
  readonly requested: bigint | null;
  readonly available: bigint | null;

  constructor(message: string, amounts: { requested: bigint; available: bigint } | null = null, options: ParallelixErrorOptions = {}) {
    super(message, options);
    this.requested = amounts?.requested ?? null;
    this.available = amounts?.available ?? null;
  }
}

/** A request, node or user that was named does not exist. */
export class NotFoundError extends ParallelixError {
  override readonly code = 'NOT_FOUND';
}
