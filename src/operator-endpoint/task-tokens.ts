/**
 * Activity task tokens the endpoint handed to each node (from its PollActivityTaskQueue responses), so a node may
 * heartbeat, complete, fail or cancel exactly those. A token is forgotten once its task is answered or when it
 * expires (the task's own timeout plus a grace period: after that Temporal refuses it anyway).
 */
export class TaskTokenLedger {
  private readonly tokens = new Map<string, { nodeId: string; expiresAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  add(token: Uint8Array, nodeId: string, validForMs: number): void {
    this.tokens.set(Buffer.from(token).toString('base64'), { nodeId, expiresAt: this.now() + validForMs });
  }

  /** True when this token was handed to this node and has not expired. */
  owns(token: Uint8Array | null | undefined, nodeId: string): boolean {
    if (!token || token.byteLength === 0) return false;
    const entry = this.tokens.get(Buffer.from(token).toString('base64'));
    if (!entry) return false;
    if (entry.expiresAt < this.now()) {
      this.forget(token);
      return false;
    }
    return entry.nodeId === nodeId;
  }

  forget(token: Uint8Array | null | undefined): void {
    if (token) this.tokens.delete(Buffer.from(token).toString('base64'));
  }

  get size(): number {
    return this.tokens.size;
  }

  sweep(): void {
    const now = this.now();
    for (const [key, value] of this.tokens) if (value.expiresAt < now) this.tokens.delete(key);
  }
}
