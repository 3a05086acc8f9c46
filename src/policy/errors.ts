import { ParallelixError } from '../shared/errors.js';

/** A SUSPENDED or RETIRED node announced itself again; only an operator of the network can readmit it. */
export class NodeNotAdmittedError extends ParallelixError {
  override readonly code = 'NODE_NOT_ADMITTED';
}
