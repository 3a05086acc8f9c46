import { getFreePort } from './ports.js';

/**
 * Environment for a `parallelix start` that shares nothing with a stack a developer may be running: its own state
 * folder, free ports for every service (metrics included), and the embedded database.
 */
export async function isolatedStackEnv(stateDir: string): Promise<Record<string, string>> {
  return {
    PARALLELIX_STATE_DIR: stateDir,
    PARALLELIX_TEMPORAL_PORT: String(await getFreePort()),
    PARALLELIX_TEMPORAL_UI_PORT: String(await getFreePort()),
    PARALLELIX_PGLITE_PORT: String(await getFreePort()),
    PARALLELIX_ANVIL_PORT: String(await getFreePort()),
    PARALLELIX_CODEC_PORT: String(await getFreePort()),
    // Every process picks a free metrics port (start prints them).
    PARALLELIX_METRICS_PORT: '0',
    DATABASE_URL: '',
  };
}
