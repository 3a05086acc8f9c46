/**
 * The coordinator's activities, one module per pipeline step, built from injected clients. Each is registered
 * under its step's name, so the Web UI's timeline and event history read "02 Admit", "12 Anchor", …
 *
 * @example
 * const activities = createCoordinatorActivities({ db, registry, identity, policy, logger });
 * await Worker.create({ taskQueue: COORDINATOR_TASK_QUEUE, activities, workflowsPath, ... });
 */
import { createAcceptRequest } from './accept-request.js';
import { createAcceptAndAdmit } from './accept-and-admit.js';
import { admitThenFirstMatch } from './admit-and-match.js';
import { anchorThenSettle } from './anchor-and-settle.js';
import { createAdmit } from './admit.js';
import { createCheckRefusal } from './check-refusal.js';
import { createAnchor } from './anchor.js';
import type { CoordinatorDeps } from './deps.js';
import { createEncrypt } from './encrypt.js';
import { createMatch } from './match.js';
import { createMatchAndEncrypt } from './match-and-encrypt.js';
import { createPenalise } from './penalise.js';
import { createRecordProgress } from './record-progress.js';
import { createReleaseCredits } from './release.js';
import { createJudgeScore, createSealClaim } from './sample-check.js';
import { createSettle } from './settle.js';
import { createVerifyResult } from './verify.js';
import { policyUptimeCache } from '../src/policy/uptime-cache.js';

/** How each kind of work is built from the coordinator's clients; one implementation serves every step doing it. */
const WORK = {
  acceptRequest: createAcceptRequest,
  admit: createAdmit,
  acceptAndAdmit: createAcceptAndAdmit,
  match: createMatch,
  encrypt: createEncrypt,
  matchAndEncrypt: createMatchAndEncrypt,
  checkRefusal: createCheckRefusal,
  verifyResult: createVerifyResult,
  penaliseNode: createPenalise,
  recordProgress: createRecordProgress,
  sealClaim: createSealClaim,
  judgeScore: createJudgeScore,
  anchor: createAnchor,
  settle: createSettle,
  releaseCredits: createReleaseCredits,
} satisfies Record<string, (deps: CoordinatorDeps) => unknown>;

export type CoordinatorWork = { [K in keyof typeof WORK]: ReturnType<(typeof WORK)[K]> };

export function createCoordinatorActivities(deps: CoordinatorDeps) {
  const shared = { ...deps, uptimes: deps.uptimes ?? policyUptimeCache(deps.db, deps.policy) };
  const work = Object.fromEntries(Object.entries(WORK).map(([name, make]) => [name, make(shared)])) as CoordinatorWork;
  return coordinatorStepActivities(work);
}

/** The activities under their steps' names (what the workflow calls and the Web UI shows). */
export function coordinatorStepActivities(work: CoordinatorWork) {
  const steps = singleStepActivities(work);
  return { ...steps, ...composedStepActivities(steps) };
}

function singleStepActivities(work: CoordinatorWork) {
  return {
    '01 Request': work.acceptRequest,
    '02 Admit': work.admit,
    '03 Match': work.match,
    '04 Encrypt': work.encrypt,
    '01 Request · 02 Admit': work.acceptAndAdmit,
    '03 Match · 04 Encrypt': work.matchAndEncrypt,
    '01 Request · 02 Admit · 03 Match · 04 Encrypt': admitThenFirstMatch(work.acceptAndAdmit, work.matchAndEncrypt),
    '05 Dispatch · check refusal': work.checkRefusal,
    '10 Verify sig': work.verifyResult,
    '10 Verify sig · penalise': work.penaliseNode,
    '11 Sample · match': work.match,
    '11 Sample · encrypt': work.encrypt,
    '11 Sample · match · encrypt': work.matchAndEncrypt,
    '11 Sample · verify': work.verifyResult,
    '11 Sample · penalise': work.penaliseNode,
    '11 Sample · record': work.recordProgress,
    '11 Sample · check refusal': work.checkRefusal,
    '11 Sample · seal claim': work.sealClaim,
    '11 Sample · judge': work.judgeScore,
    '12 Anchor': work.anchor,
    '13 Return result': work.recordProgress,
    '14 Settle': work.settle,
    'Compensate · release credits': work.releaseCredits,
  };
}

/**
 * Steps that run together as one local activity, built from the single steps' activities: whatever wraps a single
 * step (src/coordinator/instrument-activities.ts times and counts each) also sees it inside the composite.
 */
export function composedStepActivities(steps: Pick<ReturnType<typeof singleStepActivities>, '12 Anchor' | '14 Settle'>) {
  return { '12 Anchor · 14 Settle': anchorThenSettle(steps['12 Anchor'], steps['14 Settle']) };
}

export type CoordinatorActivities = ReturnType<typeof createCoordinatorActivities>;
export type { CoordinatorDeps } from './deps.js';
