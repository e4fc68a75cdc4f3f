/**
 * Remembers the `jti` of the logout tokens already accepted, until they expire, so a token captured
 * and sent again is refused (OpenID Connect Back-Channel Logout 1.0 §2.6, step 8). Plug in a shared
 * store (Redis `SET NX PX`, a table with a unique key) when the app runs several instances.
 */
export interface LogoutReplayCache {
  /** True the first time `jti` is offered; false when it was seen before and has not expired. */
  remember(jti: string, expiresAtMs: number): boolean | Promise<boolean>;
}

/**
 * One process's memory of accepted `jti`s, each forgotten once its token has expired; at most
 * `maxEntries` (10 000 by default), the soonest to expire dropped first when full (a token that old
 * is about to be refused for its `exp` anyway).
 */
export class InMemoryLogoutReplayCache implements LogoutReplayCache {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  remember(jti: string, expiresAtMs: number): boolean {
    const now = this.now();
    const known = this.seen.get(jti);
    if (known !== undefined && known > now) {
      return false;
    }
    if (this.seen.size >= this.maxEntries) {
      this.evict(now);
    }
    this.seen.set(jti, expiresAtMs);
    return true;
  }

  private evict(now: number): void {
    for (const [jti, expiresAt] of this.seen) {
      if (expiresAt <= now) {
        this.seen.delete(jti);
      }
    }
    while (this.seen.size >= this.maxEntries) {
      let soonest: string | undefined;
      let soonestAt = Infinity;
      for (const [jti, expiresAt] of this.seen) {
        if (expiresAt < soonestAt) {
          soonest = jti;
          soonestAt = expiresAt;
        }
      }
      this.seen.delete(soonest!);
    }
  }
}
