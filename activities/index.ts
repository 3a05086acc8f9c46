/**
 * The coordinator's activities, one module per pipeline step, built from injected clients.
 *
 * @example
 * const activities = createCoordinatorActivities({ db, registry, identity, policy, logger });
 * await Worker.create({ taskQueue: COORDINATOR_TASK_QUEUE, activities, workflowsPath, ... });
 */
import { createAcceptRequest } from './accept-request.js';
import { createAdmit } from './admit.js';
import { createAnchor } from './anchor.js';
import type { CoordinatorDeps } from './deps.js';
import { createEncrypt } from './encrypt.js';
import { createMatch } from './match.js';
import { createPenalise } from './penalise.js';
import { createRecordProgress } from './record-progress.js';
import { createReleaseCredits } from './release.js';
import { createSettle } from './settle.js';
import { createVerifyResult } from './verify.js';

export function createCoordinatorActivities(deps: CoordinatorDeps) {
  return {
    acceptRequest: createAcceptRequest(deps),
    admit: createAdmit(deps),
    match: createMatch(deps),
    encrypt: createEncrypt(deps),
    verifyResult: createVerifyResult(deps),
    penaliseNode: createPenalise(deps),
    recordProgress: createRecordProgress(deps),
    anchorRecord: createAnchor(deps),
    settle: createSettle(deps),
    releaseCredits: createReleaseCredits(deps),
  };
}

export type CoordinatorActivities = ReturnType<typeof createCoordinatorActivities>;
export type { CoordinatorDeps } from './deps.js';
export { FailureType } from './failures.js';
