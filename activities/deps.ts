import type { RegistryClient } from '../src/chain/registry.js';
import type { AnchorGroupCommit } from '../src/chain/anchor-group-commit.js';
import type { CoordinatorPolicy } from '../src/policy/coordinator-policy.js';
import type { TokenCounter } from '../src/inference/token-counter.js';
import type { RequestSealKey } from '../src/crypto/request-seal.js';
import type { NodeIdentity } from '../src/crypto/identity.js';
import type { PrismaClient } from '../src/db/client.js';
import type { Logger } from '../src/shared/logger.js';
import type { UptimeCache } from '../src/policy/uptime-cache.js';

/** What the coordinator's activities are built from: real clients, injected so tests use local instances. */
export interface CoordinatorDeps {
  db: PrismaClient;
  registry: RegistryClient;
  /** The coordinator's own key pairs: results are sealed back to its box key; its sign key signs dispatches. */
  identity: NodeIdentity;
  /** Checks the platform's seal on each request (step 01); derived from the codec key. */
  requestSealKey: RequestSealKey;
  /** The coordinator's own token counts (steps 01 and 10). */
  tokens: TokenCounter;
  policy: CoordinatorPolicy;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /**
   * This process's anchor group commit: new records use it when policy.anchorBatchMax > 0, and a record planned in a
   * batch always does. Absent (tests of other steps), each record anchors alone.
   */
  anchorBatches?: AnchorGroupCommit;
  /** Node uptimes shared by matching and settling (createCoordinatorActivities makes one); absent, each step reads its own. */
  uptimes?: UptimeCache;
}
