/**
 * What a guard's revocation list knows about a session: `revoked` (refuse it), `clear` (no revocation
 * of it is in force), or `unknown` — the list overflowed, and a revocation it could not keep may be
 * this session's, or its feed has not caught up yet; only the platform can tell.
 */
export type RevocationStatus = 'revoked' | 'clear' | 'unknown';

/** A binary min-heap of expiry times: the entry that expires first is always at the root. */
class ExpiryHeap {
  private readonly untils: number[] = [];
  private readonly ids: string[] = [];

  get length(): number {
    return this.untils.length;
  }

  /** The soonest expiry, or Infinity when empty. */
  peek(): number {
    return this.untils[0] ?? Infinity;
  }

  push(id: string, until: number): void {
    this.untils.push(until);
    this.ids.push(id);
    this.siftUp(this.untils.length - 1);
  }

  /** Removes the soonest entry and answers it. Only called when the heap is not empty. */
  pop(): { id: string; until: number } {
    const top = { id: this.ids[0]!, until: this.untils[0]! };
    const lastUntil = this.untils.pop()!;
    const lastId = this.ids.pop()!;
    if (this.untils.length > 0) {
      this.untils[0] = lastUntil;
      this.ids[0] = lastId;
      this.siftDown(0);
    }
    return top;
  }

  /** Replaces the content with `entries`, in O(n) (Floyd's heap construction). */
  rebuild(entries: Iterable<[string, number]>): void {
    this.untils.length = 0;
    this.ids.length = 0;
    for (const [id, until] of entries) {
      this.ids.push(id);
      this.untils.push(until);
    }
    for (let index = (this.untils.length >> 1) - 1; index >= 0; index -= 1) {
      this.siftDown(index);
    }
  }

  private siftUp(index: number): void {
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (this.untils[parent]! <= this.untils[index]!) {
        return;
      }
      this.swap(index, parent);
      index = parent;
    }
  }

  private siftDown(index: number): void {
    const length = this.untils.length;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < length && this.untils[left]! < this.untils[smallest]!) {
        smallest = left;
      }
      if (right < length && this.untils[right]! < this.untils[smallest]!) {
        smallest = right;
      }
      if (smallest === index) {
        return;
      }
      this.swap(index, smallest);
      index = smallest;
    }
  }

  private swap(a: number, b: number): void {
    [this.untils[a], this.untils[b]] = [this.untils[b]!, this.untils[a]!];
    [this.ids[a], this.ids[b]] = [this.ids[b]!, this.ids[a]!];
  }
}

/**
 * The revoked sessions a guard must refuse, each kept until `until` (when the longest access token it
 * could cover has expired). Bounded by `maxEntries`, and it fails closed: a full list never forgets a
 * revocation still in force to make room. Expired entries are pruned as new ones arrive (a min-heap
 * by expiry: O(log n) per add, O(1) per lookup). When the list is still full of live entries, a new
 * revocation is not stored and the list *overflows* until the latest expiry among those it could not
 * store: meanwhile a session it does not hold is `unknown`, not `clear`, and the guard asks the
 * platform (or refuses). Built by `GatehouseAuthModule` with `revocationListCapacity` entries.
 */
export class RevocationList {
  private readonly sessions = new Map<string, number>();
  private readonly expiries = new ExpiryHeap();
  private overflowEndsAt: number | null = null;
  private feedPending = false;

  /**
   * @param maxEntries how many revoked sessions are held at once (100 000 by default: a few MB).
   * @param now the clock, epoch milliseconds (for tests).
   */
  constructor(
    private readonly maxEntries = 100_000,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(
        `A revocation list needs room for at least one entry, not ${maxEntries}.`,
      );
    }
  }

  /**
   * Records that `sessionId` is revoked until `untilMs`. Answers false when the list is full of live
   * revocations and could not store it: it then overflows (see `overflowUntil`).
   */
  add(sessionId: string, untilMs: number): boolean {
    const now = this.now();
    if (untilMs <= now) {
      return true;
    }
    const known = this.sessions.get(sessionId);
    if (known !== undefined) {
      if (untilMs > known) {
        this.sessions.set(sessionId, untilMs);
        this.track(sessionId, untilMs);
      }
      return true;
    }
    this.pruneExpired(now);
    if (this.sessions.size >= this.maxEntries) {
      this.overflowEndsAt = Math.max(this.overflowEndsAt ?? 0, untilMs);
      return false;
    }
    this.sessions.set(sessionId, untilMs);
    this.track(sessionId, untilMs);
    return true;
  }

  /** What the list can say about `sessionId` now: revoked, clear, or unknown while overflowing. */
  lookup(sessionId: string): RevocationStatus {
    const now = this.now();
    const until = this.sessions.get(sessionId);
    if (until !== undefined) {
      if (until > now) {
        return 'revoked';
      }
      this.sessions.delete(sessionId);
    }
    return this.feedPending || this.overflowing(now) ? 'unknown' : 'clear';
  }

  /**
   * Marks the list incomplete until `feedCaughtUp()`: its feed has not delivered the revocations in
   * force yet (it cannot reach its source), so a session it does not hold is `unknown`, not `clear`.
   * `GatehouseAuthModule` calls it when a revocation feed is configured.
   */
  awaitFeed(): void {
    this.feedPending = true;
  }

  /** The feed has delivered every revocation in force (its first backfill): `clear` means clear. */
  feedCaughtUp(): void {
    this.feedPending = false;
  }

  /** True from `awaitFeed()` until `feedCaughtUp()`: the app cannot vouch for bearer tokens yet. */
  get awaitingFeed(): boolean {
    return this.feedPending;
  }

  /** True only for a session the list holds as revoked; false for `clear` and `unknown` alike. */
  isRevoked(sessionId: string): boolean {
    return this.lookup(sessionId) === 'revoked';
  }

  /** How many revoked sessions are held (expired ones may linger until the next add). */
  get size(): number {
    return this.sessions.size;
  }

  /**
   * While the list overflows: the epoch milliseconds when every revocation it could not store has
   * expired, and lookups answer `clear` again. Null when it is complete.
   */
  get overflowUntil(): number | null {
    return this.overflowing(this.now()) ? this.overflowEndsAt : null;
  }

  private overflowing(now: number): boolean {
    if (this.overflowEndsAt !== null && now >= this.overflowEndsAt) {
      this.overflowEndsAt = null;
    }
    return this.overflowEndsAt !== null;
  }

  private track(sessionId: string, untilMs: number): void {
    this.expiries.push(sessionId, untilMs);
    // A session whose expiry moved later leaves its earlier heap entry behind; past twice the live
    // entries, the heap is rebuilt from the map (O(n), so O(1) amortised per add).
    if (this.expiries.length > 2 * this.sessions.size + 64) {
      this.expiries.rebuild(this.sessions);
    }
  }

  /** Drops every entry that has expired: each one is popped once, O(log n) apiece. */
  private pruneExpired(now: number): void {
    while (this.expiries.peek() <= now) {
      const { id, until } = this.expiries.pop();
      if (this.sessions.get(id) === until) {
        this.sessions.delete(id);
      }
    }
  }
}
