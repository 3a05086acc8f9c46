import { sealEnvelope } from '../src/crypto/envelope.js';
import { signDispatch } from '../src/crypto/dispatch-signature.js';
import { toBase64 } from '../src/crypto/encoding.js';
import { OPERATOR_WIRE, type DispatchInput, type InferencePayload } from '../src/protocol/operator-wire.js';
import { normalizeConversation } from '../src/protocol/conversation.js';
import type { ChatMessage } from '../src/protocol/inference.js';
import type { CoordinatorDeps } from './deps.js';
import type { MatchedNode } from './match.js';

export interface EncryptInput {
  requestId: string;
  node: MatchedNode;
  model: string;
  maxNewTokens: number;
  messages: ChatMessage[];
  /** The primary dispatch records node_i on the request; a sample re-dispatch does not. */
  primary: boolean;
}

/**
 * Step 04: seal the prompt to the matched node's X25519 key (fresh ephemeral key per envelope, bound to the
 * request id) and sign the dispatch with the coordinator's Ed25519 key. The returned dispatch holds no plaintext and
 * crosses to the operator as is.
 */
export function createEncrypt({ db, identity }: CoordinatorDeps) {
  return async function encrypt(input: EncryptInput): Promise<DispatchInput> {
    // The SDK submits normalised conversations already; a run started another way is normalised here.
    const payload: InferencePayload = { messages: normalizeConversation(input.messages) };
    const envelope = sealEnvelope(payload as unknown as Record<string, unknown>, input.node.boxPublicKey, {
      requestId: input.requestId,
    });
    if (input.primary) {
      await db.inferenceRequest.update({
        where: { requestId: input.requestId },
        data: { nodeId: input.node.nodeId, status: 'DISPATCHED', step: 5, dispatchedAt: new Date() },
      });
    }
    const dispatch: DispatchInput = {
      wire: OPERATOR_WIRE,
      requestId: input.requestId,
      nodeId: input.node.nodeId,
      model: input.model,
      maxNewTokens: input.maxNewTokens,
      envelope,
      replyToBoxPublicKey: toBase64(identity.box.publicKey),
    };
    // The node executes only what the coordinator key it pinned signed, and seals only to the pinned reply key.
    return { ...dispatch, coordinatorSignature: signDispatch('executeInference', dispatch, identity.sign.secretKey) };
  };
}
