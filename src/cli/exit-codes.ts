/** Process exit codes of the `parallelix` CLI. */
export const ExitCode = {
  ok: 0,
  /** Unexpected failure. */
  failure: 1,
  /** Invalid configuration or arguments (also: an idempotency key reused for another amount or request). */
  usage: 2,
  /** A component could not be provisioned or started (Temporal, database, chain, model). */
  provisioning: 3,
  /** `audit`: chain record, database rows, ledger and recomputed PoE disagree; `verify`: the result does not match the chain. */
  auditMismatch: 4,
  /** `submit`: the user's balance cannot cover the request's maximum cost; nothing was dispatched or charged. */
  insufficientCredits: 5,
  /** `submit`: no registered, healthy node offers the model; the credit hold was released. */
  noCapableNode: 6,
  /** `submit`: admitted but not completed (every tried node failed, cancelled); the credit hold was released. */
  requestFailed: 7,
  /** A request (or other named record) does not exist. */
  notFound: 8,
  /** `audit`: nothing disagreed, but some checks could not run (e.g. no codec key here): not a clean bill. */
  auditIncomplete: 9,
  /** Stopped by a second Ctrl-C before a clean shutdown finished. */
  interrupted: 130,
} as const;
