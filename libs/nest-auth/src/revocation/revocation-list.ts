/**
 * The revoked sessions a guard must refuse, each kept until `until` (when the longest access token it
 * could cover has expired). Bounded: past `maxEntries` the entries that expire soonest go first, and
 * expired ones are pruned as new ones arrive.
 */
export class RevocationList {
  private readonly sessions = new Map<string, number>();

  constructor(
    private readonly maxEntries = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  add(sessionId: string, untilMs: number): void {
    if (untilMs <= this.now()) {
      return;
    }
    this.sessions.set(sessionId, Math.max(untilMs, this.sessions.get(sessionId) ?? 0));
    if (this.sessions.size > this.maxEntries) {
      this.prune();
    }
  }

  isRevoked(sessionId: string): boolean {
    const until = this.sessions.get(sessionId);
    if (until === undefined) {
      return false;
    }
    if (until <= this.now()) {
      this.sessions.delete(sessionId);
      return false;
    }
    return true;
  }

  get size(): number {
    return this.sessions.size;
  }

  private prune(): void {
    const now = this.now();
    for (const [sessionId, until] of this.sessions) {
      if (until <= now) {
        this.sessions.delete(sessionId);
      }
    }
    if (this.sessions.size <= this.maxEntries) {
      return;
    }
    const soonestFirst = [...this.sessions].sort(([, a], [, b]) => a - b);
    for (const [sessionId] of soonestFirst.slice(0, this.sessions.size - this.maxEntries)) {
      this.sessions.delete(sessionId);
    }
  }
}
