import type { RegistryClient } from '../src/chain/registry.js';
import type { AnchorGroupCommit } from '../src/coordinator/anchor-group-commit.js';
import type { CoordinatorPolicy } from '../src/coordinator/config.js';
import type { NodeIdentity } from '../src/crypto/identity.js';
import type { PrismaClient } from '../src/db/client.js';
import type { Logger } from '../src/shared/logger.js';

/** What the coordinator's activities are built from: real clients, injected so tests use local instances. */
export interface CoordinatorDeps {
  db: PrismaClient;
  registry: RegistryClient;
  /** The coordinator's own box key pair: results are sealed back to it. */
  identity: NodeIdentity;
  policy: CoordinatorPolicy;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Batched anchoring (policy.anchorBatchMax > 0): this process's group commit; absent, each record anchors alone. */
  anchorBatches?: AnchorGroupCommit;
}
