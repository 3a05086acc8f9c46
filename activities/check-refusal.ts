import type { OperatorCapabilities } from '../src/crypto/announcement.js';
import type { CoordinatorDeps } from './deps.js';

export interface CheckRefusalInput {
  nodeId: string;
  /** The node's failure type: INVALID_INPUT, PROMPT_TOO_LONG or MAX_NEW_TOKENS_EXCEEDED. */
  type: string;
  maxNewTokens: number;
  /** Step 01's tokenizer count of the prompt (absent without a local tokenizer of the model). */
  promptTokens?: number;
}

/**
 * What the coordinator's own checks say of a node's claim that the request itself is unservable:
 *  - agree: the coordinator finds the same (the prompt it counted does not fit what the node announced): the
 *    request ends with that typed failure;
 *  - disagree: step 01 validated the input (shape and, with a tokenizer, the chat template) and its count fits the
 *    node's announced limits: the node refused valid work (penalised, another node is matched);
 *  - unknown: the coordinator has no count of its own (no local tokenizer): another node is matched, and the request
 *    ends with the refusal only if every node tried refuses it the same way.
 */
export type RefusalVerdict = 'agree' | 'disagree' | 'unknown';

export function createCheckRefusal({ db }: Pick<CoordinatorDeps, 'db'>) {
  return async function checkRefusal(input: CheckRefusalInput): Promise<RefusalVerdict> {
    const node = await db.node.findUnique({ where: { nodeId: input.nodeId }, select: { capabilities: true } });
    const caps = node?.capabilities as Partial<OperatorCapabilities> | undefined;
    if (input.type === 'MAX_NEW_TOKENS_EXCEEDED') {
      return typeof caps?.maxNewTokens === 'number' && input.maxNewTokens > caps.maxNewTokens ? 'agree' : 'disagree';
    }
    if (input.promptTokens === undefined) return 'unknown';
    if (input.type === 'PROMPT_TOO_LONG') {
      return typeof caps?.maxContextTokens === 'number' && input.promptTokens + input.maxNewTokens > caps.maxContextTokens ? 'agree' : 'disagree';
    }
    // INVALID_INPUT: step 01 parsed the request and the model's chat template rendered it.
    return 'disagree';
  };
}
