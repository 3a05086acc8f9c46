import { randomBytes } from 'node:crypto';
import { fromBase64, isNodeId, nodeIdFromSignPublicKey, verifyDetached } from '../crypto/index.js';
import { loginMessage, type LoginRequest } from '../protocol/operator-endpoint-wire.js';

/** A node authenticated at the endpoint. */
export interface OperatorSession {
  nodeId: string;
  expiresAt: number;
}

export type LoginOutcome = { ok: true; token: string; session: OperatorSession } | { ok: false; reason: string };

/** How long a challenge may be signed and used; a login is one round trip. */
const CHALLENGE_TTL_MS = 30_000;
/** Outstanding challenges at most: a flood of challenge requests cannot grow memory without bound. */
const MAX_CHALLENGES = 10_000;

/**
 * Challenges and session tokens of the operator endpoint, in memory (an operator stays on one endpoint process
 * for its connection's life and logs in again after a restart). A challenge is single-use and bound to the node
 * id it was asked for; a token is 32 random bytes, valid for `ttlMs`.
 */
export class SessionStore {
  private readonly challenges = new Map<string, { nodeId: string; expiresAt: number }>();
  private readonly sessions = new Map<string, OperatorSession>();

  constructor(private readonly ttlMs: number, private readonly now: () => number = Date.now) {}

  issueChallenge(nodeId: unknown): { challenge: string; expiresAt: number } | { reason: string } {
    if (typeof nodeId !== 'string' || !isNodeId(nodeId)) return { reason: 'nodeId must be node- followed by 40 hex characters' };
    this.sweep();
    if (this.challenges.size >= MAX_CHALLENGES) return { reason: 'too many logins in progress; try again shortly' };
    const challenge = randomBytes(32).toString('base64');
    const expiresAt = this.now() + CHALLENGE_TTL_MS;
    this.challenges.set(challenge, { nodeId, expiresAt });
    return { challenge, expiresAt };
  }

  login(request: Partial<LoginRequest> | null | undefined): LoginOutcome {
    const { nodeId, signPublicKey, challenge, signature } = request ?? {};
    if (typeof nodeId !== 'string' || typeof signPublicKey !== 'string' || typeof challenge !== 'string' || typeof signature !== 'string') {
      return { ok: false, reason: 'nodeId, signPublicKey, challenge and signature are required strings' };
    }
    const issued = this.challenges.get(challenge);
    this.challenges.delete(challenge); // single use, whatever the outcome
    if (!issued || issued.expiresAt < this.now()) return { ok: false, reason: 'unknown or expired challenge' };
    if (issued.nodeId !== nodeId) return { ok: false, reason: 'the challenge was issued for another node' };
    let key: Uint8Array;
    try {
      key = fromBase64(signPublicKey);
    } catch {
      return { ok: false, reason: 'signPublicKey is not base64' };
    }
    if (nodeIdFromSignPublicKey(key) !== nodeId) return { ok: false, reason: 'nodeId does not derive from signPublicKey' };
    if (!verifyDetached(loginMessage(nodeId, challenge), signature, key)) return { ok: false, reason: 'bad signature' };
    const token = randomBytes(32).toString('base64url');
    const session = { nodeId, expiresAt: this.now() + this.ttlMs };
    this.sessions.set(token, session);
    return { ok: true, token, session };
  }

  /** The live session of a token; undefined for an unknown or expired one. */
  lookup(token: string): OperatorSession | undefined {
    const session = this.sessions.get(token);
    if (!session) return undefined;
    if (session.expiresAt < this.now()) {
      this.sessions.delete(token);
      return undefined;
    }
    return session;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Drops expired challenges and sessions. */
  sweep(): void {
    const now = this.now();
    for (const [key, value] of this.challenges) if (value.expiresAt < now) this.challenges.delete(key);
    for (const [key, value] of this.sessions) if (value.expiresAt < now) this.sessions.delete(key);
  }
}
