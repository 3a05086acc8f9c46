import { chmodSync } from 'node:fs';
import { getFreeClusterFrontendPort } from './cluster/temporal-cluster.js';
import { getFreeServicePort } from '../shared/ports.js';

/**
 * Environment for a `parallelix start` that shares nothing with a stack a developer may be running: its own state
 * folder, free ports for every service (metrics included), and the embedded PostgreSQL. The ports are bound many
 * seconds later, so they come from below the ephemeral range (getFreeServicePort).
 */
export async function isolatedStackEnv(stateDir: string): Promise<Record<string, string>> {
  // As root the embedded PostgreSQL runs as the `postgres` user, which must be able to enter the folder (mkdtemp
  // makes it 0700): search permission only, no listing.
  if (process.getuid?.() === 0) chmodSync(stateDir, 0o711);
  return {
    PARALLELIX_STATE_DIR: stateDir,
    // The Temporal server (`--temporal cluster`) takes ports at fixed offsets from this one: all free as well.
    PARALLELIX_TEMPORAL_PORT: String(await getFreeClusterFrontendPort()),
    PARALLELIX_TEMPORAL_UI_PORT: String(await getFreeServicePort()),
    PARALLELIX_POSTGRES_PORT: String(await getFreeServicePort()),
    PARALLELIX_ANVIL_PORT: String(await getFreeServicePort()),
    PARALLELIX_CODEC_PORT: String(await getFreeServicePort()),
    PARALLELIX_OPERATOR_ENDPOINT_PORT: String(await getFreeServicePort()),
    // Every process picks a free metrics port (start prints them).
    PARALLELIX_METRICS_PORT: '0',
    DATABASE_URL: '',
  };
}
