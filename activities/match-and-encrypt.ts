import type { DispatchInput } from '../src/protocol/operator-wire.js';
import type { ChatMessage } from '../src/protocol/inference.js';
import type { CoordinatorDeps } from './deps.js';
import { createEncrypt } from './encrypt.js';
import { createMatch, type MatchedNode, type MatchInput } from './match.js';

export interface MatchAndEncryptInput extends MatchInput {
  messages: ChatMessage[];
  /** The primary dispatch records node_i on the request; a sample re-dispatch does not. */
  primary: boolean;
}

export interface MatchedDispatch {
  node: MatchedNode;
  dispatch: DispatchInput;
}

/**
 * Steps 03 and 04 as one local activity: the node to run on and the dispatch sealed to it, one activation and one
 * marker instead of two. Retried whole: a retry may match another node, and then seals to that one.
 */
export function createMatchAndEncrypt(deps: CoordinatorDeps) {
  return matchThenEncrypt(createMatch(deps), createEncrypt(deps));
}

/** The composition itself, of any implementations of the two steps. */
export function matchThenEncrypt(match: ReturnType<typeof createMatch>, encrypt: ReturnType<typeof createEncrypt>) {
  return async function matchAndEncrypt(input: MatchAndEncryptInput): Promise<MatchedDispatch> {
    const { messages, primary, ...wanted } = input;
    const node = await match(wanted);
    const dispatch = await encrypt({ requestId: input.requestId, node, model: input.model, maxNewTokens: input.maxNewTokens, messages, primary });
    return { node, dispatch };
  };
}
