/**
 * The coordinator's activities, one module per pipeline step, built from injected clients. Each is registered
 * under its step's name, so the Web UI's timeline and event history read "02 Admit", "12 Anchor", …
 *
 * @example
 * const activities = createCoordinatorActivities({ db, registry, identity, policy, logger });
 * await Worker.create({ taskQueue: COORDINATOR_TASK_QUEUE, activities, workflowsPath, ... });
 */
import { createAcceptRequest } from './accept-request.js';
import { createAdmit } from './admit.js';
import { createCheckRefusal } from './check-refusal.js';
import { createAnchor } from './anchor.js';
import type { CoordinatorDeps } from './deps.js';
import { createEncrypt } from './encrypt.js';
import { createMatch } from './match.js';
import { createPenalise } from './penalise.js';
import { createRecordProgress } from './record-progress.js';
import { createReleaseCredits } from './release.js';
import { createJudgeScore, createSealClaim } from './sample-check.js';
import { createSettle } from './settle.js';
import { createVerifyResult } from './verify.js';

export function createCoordinatorActivities(deps: CoordinatorDeps) {
  const match = createMatch(deps);
  const encrypt = createEncrypt(deps);
  const verifyResult = createVerifyResult(deps);
  const penaliseNode = createPenalise(deps);
  const recordProgress = createRecordProgress(deps);
  return {
    '01 Request': createAcceptRequest(deps),
    '02 Admit': createAdmit(deps),
    '03 Match': match,
    '04 Encrypt': encrypt,
    '05 Dispatch · check refusal': createCheckRefusal(deps),
    '11 Sample · check refusal': createCheckRefusal(deps),
    '10 Verify sig': verifyResult,
    '10 Verify sig · penalise': penaliseNode,
    '11 Sample · match': match,
    '11 Sample · encrypt': encrypt,
    '11 Sample · verify': verifyResult,
    '11 Sample · penalise': penaliseNode,
    '11 Sample · record': recordProgress,
    '11 Sample · seal claim': createSealClaim(deps),
    '11 Sample · judge': createJudgeScore(deps),
    '12 Anchor': createAnchor(deps),
    '13 Return result': recordProgress,
    '14 Settle': createSettle(deps),
    'Compensate · release credits': createReleaseCredits(deps),
  };
}

export type CoordinatorActivities = ReturnType<typeof createCoordinatorActivities>;
export type { CoordinatorDeps } from './deps.js';
export { FailureType } from './failures.js';
