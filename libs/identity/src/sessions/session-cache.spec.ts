import { randomUUID } from 'node:crypto';

import type { GatehouseConfig } from '@gatehouse/config';
import type { CookieSessionWithUser } from '@gatehouse/persistence';
import { beforeEach, describe, expect, it } from 'vitest';

import type { Clock } from '../clock.js';
import { ManualClock } from '../manual-clock.testing.js';
import { SessionCache } from './session-cache.js';

const TTL_SECONDS = 5;
const START = Date.parse('2030-01-01T00:00:00.000Z');

function cacheWith(
  clock: Clock,
  { ttlSeconds = TTL_SECONDS, maxEntries = 100 }: { ttlSeconds?: number; maxEntries?: number } = {},
): SessionCache {
  const config = {
    session: { cacheTtlSeconds: ttlSeconds, cacheMaxEntries: maxEntries },
  } as GatehouseConfig;
  return new SessionCache(config, clock);
}

/** A cookie session row as `findCookieSessionByTokenHash` returns it. */
function sessionRow(overrides: Partial<CookieSessionWithUser> = {}): CookieSessionWithUser {
  const at = new Date(START);
  return {
    id: randomUUID(),
    createdAt: at,
    lastSeenAt: at,
    idleExpiresAt: new Date(START + 86_400_000),
    absoluteExpiresAt: new Date(START + 2_592_000_000),
    amr: ['pwd'],
    authTime: at,
    revokedAt: null,
    userId: randomUUID(),
    kind: 'cookie',
    clientId: null,
    clientName: null,
    ip: '127.0.0.1',
    userAgent: null,
    identityProvider: null,
    userEmail: `user-${randomUUID()}@example.com`,
    userRoles: [],
    userDisabledAt: null,
    userEmailVerifiedAt: null,
    userCreatedAt: at,
    ...overrides,
  };
}

/** Cache keys are base64 strings in the product; any distinct strings do here. */
let keyCount = 0;
const newKey = () => `key-${(keyCount += 1)}`;

describe('SessionCache', () => {
  let clock: ManualClock;
  let cache: SessionCache;

  beforeEach(() => {
    clock = new ManualClock(START);
    cache = cacheWith(clock);
  });

  /** Stores a row at the current epoch (no eviction raced it). */
  function store(key: string, row: CookieSessionWithUser): void {
    cache.set(key, row, cache.epoch);
  }

  describe('time to live', () => {
    it('answers a stored row until the TTL has passed, then nothing, and drops the entry', () => {
      const key = newKey();
      const row = sessionRow();
      store(key, row);

      expect(cache.get(key)).toBe(row);
      clock.set(TTL_SECONDS * 1000 - 1);
      expect(cache.get(key)).toBe(row);

      clock.set(TTL_SECONDS * 1000);
      expect(cache.get(key)).toBeUndefined();
      // Gone, not merely hidden: moving the clock back does not bring it back.
      clock.set(0);
      expect(cache.get(key)).toBeUndefined();
    });

    it('counts the TTL from the last set, not the first', () => {
      const key = newKey();
      store(key, sessionRow());
      clock.set(4_000);
      const touched = sessionRow();
      store(key, touched);
      clock.set(8_000);
      expect(cache.get(key)).toBe(touched);
      clock.set(9_000);
      expect(cache.get(key)).toBeUndefined();
    });

    it('is disabled with a TTL of 0: set stores nothing', () => {
      const disabled = cacheWith(clock, { ttlSeconds: 0 });
      expect(disabled.enabled).toBe(false);
      const key = newKey();
      disabled.set(key, sessionRow(), disabled.epoch);
      expect(disabled.get(key)).toBeUndefined();
    });

    it('is enabled with a positive TTL', () => {
      expect(cache.enabled).toBe(true);
    });

    it('answers undefined for a key never stored', () => {
      expect(cache.get(newKey())).toBeUndefined();
    });
  });

  describe('bound', () => {
    it('drops the oldest inserted entry when a new one would exceed the bound', () => {
      const bounded = cacheWith(clock, { maxEntries: 3 });
      const keys = [newKey(), newKey(), newKey(), newKey()];
      const rows = keys.map(() => sessionRow());
      keys.forEach((key, index) => bounded.set(key, rows[index]!, bounded.epoch));

      expect(bounded.get(keys[0]!)).toBeUndefined();
      expect(keys.slice(1).map((key) => bounded.get(key))).toEqual(rows.slice(1));
    });

    it('replaces an existing key at the bound without dropping any other entry', () => {
      const bounded = cacheWith(clock, { maxEntries: 2 });
      const [first, second] = [newKey(), newKey()];
      const firstRow = sessionRow();
      const secondRow = sessionRow();
      bounded.set(first, firstRow, bounded.epoch);
      bounded.set(second, secondRow, bounded.epoch);

      const replacement = sessionRow({ id: firstRow.id, userId: firstRow.userId });
      bounded.set(first, replacement, bounded.epoch);

      expect(bounded.get(first)).toBe(replacement);
      expect(bounded.get(second)).toBe(secondRow);
    });

    it('counts a re-set (a touch) as a fresh insertion: the next overflow drops the other entry', () => {
      const bounded = cacheWith(clock, { maxEntries: 2 });
      const [first, second, third] = [newKey(), newKey(), newKey()];
      const firstRow = sessionRow();
      bounded.set(first, firstRow, bounded.epoch);
      bounded.set(second, sessionRow(), bounded.epoch);
      bounded.set(first, firstRow, bounded.epoch);
      const thirdRow = sessionRow();
      bounded.set(third, thirdRow, bounded.epoch);

      expect(bounded.get(second)).toBeUndefined();
      expect(bounded.get(first)).toBe(firstRow);
      expect(bounded.get(third)).toBe(thirdRow);
    });

    it('holds a single entry with a bound of 1', () => {
      const single = cacheWith(clock, { maxEntries: 1 });
      const [first, second] = [newKey(), newKey()];
      const secondRow = sessionRow();
      single.set(first, sessionRow(), single.epoch);
      single.set(second, secondRow, single.epoch);
      expect(single.get(first)).toBeUndefined();
      expect(single.get(second)).toBe(secondRow);
    });
  });

  describe('eviction', () => {
    it('evictSessions removes the named sessions and only them', () => {
      const user = randomUUID();
      const [a, b, c] = [newKey(), newKey(), newKey()];
      const rowA = sessionRow({ userId: user });
      const rowB = sessionRow({ userId: user });
      const rowC = sessionRow();
      store(a, rowA);
      store(b, rowB);
      store(c, rowC);

      cache.evictSessions([rowA.id]);

      expect(cache.get(a)).toBeUndefined();
      expect(cache.get(b)).toBe(rowB);
      expect(cache.get(c)).toBe(rowC);
    });

    it('evictSessions removes several at once and ignores ids it does not hold', () => {
      const [a, b, c] = [newKey(), newKey(), newKey()];
      const rows = [sessionRow(), sessionRow(), sessionRow()] as const;
      store(a, rows[0]);
      store(b, rows[1]);
      store(c, rows[2]);

      cache.evictSessions([rows[0].id, randomUUID(), rows[2].id]);

      expect(cache.get(a)).toBeUndefined();
      expect(cache.get(b)).toBe(rows[1]);
      expect(cache.get(c)).toBeUndefined();
    });

    it('evictUser removes every session of that user and only them', () => {
      const user = randomUUID();
      const other = randomUUID();
      const [a, b, c] = [newKey(), newKey(), newKey()];
      const otherRow = sessionRow({ userId: other });
      store(a, sessionRow({ userId: user }));
      store(b, otherRow);
      store(c, sessionRow({ userId: user }));

      cache.evictUser(user);

      expect(cache.get(a)).toBeUndefined();
      expect(cache.get(c)).toBeUndefined();
      expect(cache.get(b)).toBe(otherRow);
    });

    it('delete removes that key only', () => {
      const [a, b] = [newKey(), newKey()];
      const rowB = sessionRow();
      store(a, sessionRow());
      store(b, rowB);

      cache.delete(a);

      expect(cache.get(a)).toBeUndefined();
      expect(cache.get(b)).toBe(rowB);
    });

    it('a key re-set after eviction is served again (eviction is not a ban)', () => {
      const key = newKey();
      const row = sessionRow();
      store(key, row);
      cache.evictSessions([row.id]);
      store(key, row);
      expect(cache.get(key)).toBe(row);
    });
  });

  describe('epoch guard', () => {
    it('does not store a row read before an eviction; stores one read after it', () => {
      const key = newKey();
      const row = sessionRow();
      const before = cache.epoch;

      cache.evictSessions([randomUUID()]);
      cache.set(key, row, before);
      expect(cache.get(key)).toBeUndefined();

      cache.set(key, row, cache.epoch);
      expect(cache.get(key)).toBe(row);
    });

    it.each([
      ['delete', (cache: SessionCache) => cache.delete('no-such-key')],
      ['evictSessions', (cache: SessionCache) => cache.evictSessions([randomUUID()])],
      ['evictSessions of nothing', (cache: SessionCache) => cache.evictSessions([])],
      ['evictUser', (cache: SessionCache) => cache.evictUser(randomUUID())],
    ])('moves on with %s, even when nothing matched', (_name, evict) => {
      const before = cache.epoch;
      evict(cache);
      expect(cache.epoch).not.toBe(before);
      const key = newKey();
      cache.set(key, sessionRow(), before);
      expect(cache.get(key)).toBeUndefined();
    });

    it('does not move on with reads, stores, expiry or bound evictions', () => {
      const bounded = cacheWith(clock, { maxEntries: 1 });
      const before = bounded.epoch;
      const key = newKey();
      bounded.set(key, sessionRow(), before);
      bounded.set(newKey(), sessionRow(), before);
      bounded.get(key);
      clock.set(TTL_SECONDS * 1000);
      bounded.get(key);
      expect(bounded.epoch).toBe(before);
    });

    it('a stale set does not disturb the entry already there', () => {
      const key = newKey();
      const current = sessionRow();
      const stale = cache.epoch;
      cache.evictUser(randomUUID());
      store(key, current);

      cache.set(key, sessionRow({ id: current.id }), stale);

      expect(cache.get(key)).toBe(current);
    });
  });

  describe('replacing a key', () => {
    it('answers the new row', () => {
      const key = newKey();
      const original = sessionRow();
      store(key, original);
      const touched = { ...original, lastSeenAt: new Date(START + 60_000) };
      store(key, touched);
      expect(cache.get(key)).toBe(touched);
    });

    it('keeps the session-id index right: evictSessions after a replace still removes it', () => {
      const key = newKey();
      const original = sessionRow();
      store(key, original);
      store(key, { ...original, lastSeenAt: new Date(START + 60_000) });

      cache.evictSessions([original.id]);

      expect(cache.get(key)).toBeUndefined();
    });

    it('keeps the user scan right: evictUser after a replace still removes it', () => {
      const key = newKey();
      const original = sessionRow();
      store(key, original);
      store(key, { ...original, userRoles: ['admin'] });

      cache.evictUser(original.userId);

      expect(cache.get(key)).toBeUndefined();
    });

    it('an entry dropped by its TTL or by the bound leaves no stale index behind', () => {
      const bounded = cacheWith(clock, { maxEntries: 1 });
      const [first, second] = [newKey(), newKey()];
      const firstRow = sessionRow();
      bounded.set(first, firstRow, bounded.epoch);
      bounded.set(second, sessionRow(), bounded.epoch);
      // The bound dropped `first`; evicting its session must not touch `second`'s entry.
      bounded.evictSessions([firstRow.id]);
      expect(bounded.get(second)).toBeDefined();
    });
  });
});
