import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import type { CookieSessionWithUser, SessionSummary, User } from '@gatehouse/persistence';

import { Clock } from '../clock.js';

interface Entry {
  readonly session: CookieSessionWithUser;
  readonly expiresAtMs: number;
}

/** What `GET /me` shows of a bearer token's session: the session and its user. */
export interface DescribedSession {
  readonly session: SessionSummary;
  readonly user: User;
}

interface DescribedEntry {
  readonly described: DescribedSession;
  readonly expiresAtMs: number;
}

/**
 * Validated cookie sessions kept in memory for a few seconds (`SESSION_CACHE_TTL_SECONDS`), keyed by
 * the token's SHA-256 (never the cookie itself), so a busy browser costs PostgreSQL one read per TTL
 * instead of one per request.
 *
 * It only ever answers "still the row I read": revocation, logout and disabling evict the session at
 * once (in-process after the commit, other processes through the revocation feed), and an answer that
 * would refuse the cookie is never given from here — the caller reads the row again. A read that
 * raced an eviction is not stored (`epoch`), so a revoked session cannot be put back.
 *
 * It also keeps, by session id and under the same rules, what `GET /me` shows of a bearer token's
 * session, so a token presented again is answered without PostgreSQL.
 */
@Injectable()
export class SessionCache {
  private readonly entries = new Map<string, Entry>();
  /** Session id → key: a revocation event names sessions, and must not scan the whole cache. */
  private readonly keys = new Map<string, string>();
  private readonly described = new Map<string, DescribedEntry>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private evictions = 0;

  constructor(
    @InjectConfig() config: GatehouseConfig,
    private readonly clock: Clock,
  ) {
    this.ttlMs = config.session.cacheTtlSeconds * 1000;
    this.maxEntries = config.session.cacheMaxEntries;
  }

  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  /** Changes whenever something is evicted; pass the value read before a lookup to `set`. */
  get epoch(): number {
    return this.evictions;
  }

  get(key: string): CookieSessionWithUser | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAtMs > this.clock.now().getTime()) {
      return entry.session;
    }
    if (entry) {
      this.remove(key, entry);
    }
    return undefined;
  }

  /** Stores a row read at `epoch`, unless an eviction happened since (it may be about this row). */
  set(key: string, session: CookieSessionWithUser, epoch: number): void {
    if (!this.enabled || epoch !== this.evictions) {
      return;
    }
    const previous = this.entries.get(key);
    if (previous) {
      this.remove(key, previous);
    } else if (this.entries.size >= this.maxEntries) {
      // Map order is insertion order: the oldest entry goes first.
      const [oldestKey, oldest] = this.entries.entries().next().value!;
      this.remove(oldestKey, oldest);
    }
    this.entries.set(key, { session, expiresAtMs: this.clock.now().getTime() + this.ttlMs });
    this.keys.set(session.id, key);
  }

  /** A session described within the TTL, by id. */
  getDescribed(sessionId: string): DescribedSession | undefined {
    const entry = this.described.get(sessionId);
    if (entry && entry.expiresAtMs > this.clock.now().getTime()) {
      return entry.described;
    }
    if (entry) {
      this.described.delete(sessionId);
    }
    return undefined;
  }

  /** Like `set`: stored unless an eviction happened since `epoch`. */
  setDescribed(described: DescribedSession, epoch: number): void {
    if (!this.enabled || epoch !== this.evictions) {
      return;
    }
    const sessionId = described.session.id;
    if (!this.described.has(sessionId) && this.described.size >= this.maxEntries) {
      this.described.delete(this.described.keys().next().value!);
    }
    this.described.delete(sessionId);
    this.described.set(sessionId, {
      described,
      expiresAtMs: this.clock.now().getTime() + this.ttlMs,
    });
  }

  delete(key: string): void {
    this.evictions += 1;
    const entry = this.entries.get(key);
    if (entry) {
      this.remove(key, entry);
    }
  }

  /** Sessions that ended: their cached rows go at once. */
  evictSessions(sessionIds: readonly string[]): void {
    this.evictions += 1;
    for (const sessionId of sessionIds) {
      this.described.delete(sessionId);
      const key = this.keys.get(sessionId);
      const entry = key === undefined ? undefined : this.entries.get(key);
      if (entry) {
        this.remove(key!, entry);
      }
    }
  }

  /** A user whose roles changed: every cached session of theirs goes (rare; a scan is fine). */
  evictUser(userId: string): void {
    this.evictions += 1;
    for (const [key, entry] of this.entries) {
      if (entry.session.userId === userId) {
        this.remove(key, entry);
      }
    }
    for (const [sessionId, entry] of this.described) {
      if (entry.described.user.id === userId) {
        this.described.delete(sessionId);
      }
    }
  }

  private remove(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.keys.delete(entry.session.id);
  }
}
