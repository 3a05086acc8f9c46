import path from 'node:path';
import type { Address } from 'viem';
import { stateDir } from '../shared/paths.js';

/** Where a running local stack (`parallelix start`) records its endpoints: written by src/devstack, read by the other processes. */
export function stackFile(): string {
  return path.join(stateDir(), 'stack.json');
}

export interface StackEndpoints {
  temporal: { address: string; namespace: string; uiUrl: string | null; kind: 'dev-server' | 'cluster' | 'external' };
  /** `url` carries the embedded server's password: the file is written with mode 0600. */
  database: { url: string; embedded: boolean };
  chain: { rpcUrl: string; chainId: number; registryAddress: Address; local: boolean };
  /** Where operators connect (src/operator-endpoint/): they never receive the Temporal address or namespace. */
  operatorEndpoint?: { address: string };
  /** Processes this stack started (pid per service); none remain after stop(). */
  pids: Record<string, number>;
}
