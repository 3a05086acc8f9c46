/** Process exit codes of the `parallelix` CLI. */
export const ExitCode = {
  ok: 0,
  /** Unexpected failure. */
  failure: 1,
  /** Invalid configuration or arguments. */
  usage: 2,
  /** A component could not be provisioned or started (Temporal, database, chain, model). */
  provisioning: 3,
  /** Stopped by a second Ctrl-C before a clean shutdown finished. */
  interrupted: 130,
} as const;
