import type { AcceptedRequest } from './accept-request.js';
import type { AcceptAndAdmitInput, createAcceptAndAdmit } from './accept-and-admit.js';
import type { MatchedDispatch, createMatchAndEncrypt } from './match-and-encrypt.js';

export interface AdmittedAndMatched {
  accepted: AcceptedRequest;
  /** The first node matched and the dispatch sealed to it; null when that first try failed (the run tries again). */
  first: MatchedDispatch | null;
}

/**
 * Steps 01 to 04 as one local activity: the request checked, priced and held, then its first node matched and the
 * dispatch sealed to that node, one workflow activation and one marker instead of two. The admission decides the
 * outcome: its failures fail this activity as they fail 01 · 02; a failure of the first match or seal is dropped
 * (null), and the run then matches as it did before this existed (03 · 04 on their own, with their own retries,
 * refusals and re-matching). Retried whole: 01 is pure, 02 idempotent by request id, and a retry may match again.
 */
export function admitThenFirstMatch(acceptAndAdmit: ReturnType<typeof createAcceptAndAdmit>, matchAndEncrypt: ReturnType<typeof createMatchAndEncrypt>) {
  return async function admitAndMatch(input: AcceptAndAdmitInput): Promise<AdmittedAndMatched> {
    const accepted = await acceptAndAdmit(input);
    const { requestId, request } = input;
    const first = await matchAndEncrypt({ requestId, model: request.model, maxNewTokens: request.maxNewTokens, exclude: [], messages: request.messages, primary: true }).catch(() => null);
    return { accepted, first };
  };
}
