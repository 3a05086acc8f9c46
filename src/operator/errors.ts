import { ParallelixError } from '../shared/errors.js';

/** A dispatch names another node id than this operator's (it reached the wrong task queue). */
export class DispatchNotForThisNodeError extends ParallelixError {
  override readonly code = 'DISPATCH_NOT_FOR_THIS_NODE';
}

/** The dispatch asks for a model this operator does not serve. */
export class ModelNotServedError extends ParallelixError {
  override readonly code = 'MODEL_NOT_SERVED';
}

/** The coordinator refused this operator's announcement. */
export class RegistrationRefusedError extends ParallelixError {
  override readonly code = 'REGISTRATION_REFUSED';
}

/** A dispatch (or scoring request) not signed by the coordinator key this node pinned, or asking for another reply key. */
export class DispatchNotAuthenticError extends ParallelixError {
  override readonly code = 'DISPATCH_NOT_AUTHENTIC';
}

/** No coordinator key is pinned yet (the node has not registered): nothing can be checked, so nothing runs. */
export class CoordinatorNotPinnedError extends ParallelixError {
  override readonly code = 'COORDINATOR_NOT_PINNED';
}

/** The operator endpoint did not let this node log in (unreachable, refused challenge or signature). */
export class EndpointLoginError extends ParallelixError {
  override readonly code = 'ENDPOINT_LOGIN_FAILED';
}
