/**
 * One typed error family shared by the SDK, CLI, gateway, coordinator and operator.
 * Every error has a stable `code` a caller can match on, a short message and optional details.
 */
export interface ParallelixErrorOptions {
  details?: string;
  cause?: unknown;
}

export class ParallelixError extends Error {
  readonly code: string = 'PARALLELIX_ERROR';
  readonly details: string | undefined;

  constructor(message: string, options: ParallelixErrorOptions = {}) {
    super(options.details ? `${message}\n\nDetails: ${options.details}` : message, { cause: options.cause });
    this.name = new.target.name;
    this.details = options.details;
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

/** A request, node or user that was named does not exist. */
export class NotFoundError extends ParallelixError {
  override readonly code = 'NOT_FOUND';
}
