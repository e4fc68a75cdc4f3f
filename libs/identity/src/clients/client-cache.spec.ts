import { randomUUID } from 'node:crypto';

import type { Client } from '@gatehouse/persistence';
import { beforeEach, describe, expect, it } from 'vitest';

import { ManualClock } from '../manual-clock.testing.js';
import { CLIENT_CACHE_TTL_MS, ClientCache } from './client-cache.js';

const START = Date.parse('2030-01-01T00:00:00.000Z');
/** The cache's bound (not exported): a flood of distinct ids stops growing the map there. */
const MAX_ENTRIES = 10_000;

/** A client row as `clients.findById` returns it. */
function clientRow(overrides: Partial<Client> = {}): Client {
  const at = new Date(START);
  return {
    id: randomUUID(),
    name: 'reporting',
    secretHash: Buffer.alloc(32, 1),
    grantTypes: ['client_credentials'],
    redirectUris: [],
    scopes: ['notes:read'],
    postLogoutRedirectUris: [],
    firstParty: false,
    requireConsent: true,
    requireState: false,
    resourceServer: false,
    audience: null,
    backchannelLogoutUri: null,
    backchannelLogoutSessionRequired: false,
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
}

describe('ClientCache', () => {
  let clock: ManualClock;
  let cache: ClientCache;

  beforeEach(() => {
    clock = new ManualClock(START);
    cache = new ClientCache(clock);
  });

  /** Stores a row at the current epoch (no eviction raced it). */
  function store(client: Client): void {
    cache.set(client, cache.epoch);
  }

  describe('time to live', () => {
    it('is one second', () => {
      expect(CLIENT_CACHE_TTL_MS).toBe(1_000);
    });

    it('answers a stored client until the TTL has passed, then nothing, and drops the entry', () => {
      const client = clientRow();
      store(client);

      expect(cache.get(client.id)).toBe(client);
      clock.set(CLIENT_CACHE_TTL_MS - 1);
      expect(cache.get(client.id)).toBe(client);

      clock.set(CLIENT_CACHE_TTL_MS);
      expect(cache.get(client.id)).toBeUndefined();
      // Gone, not merely hidden: moving the clock back does not bring it back.
      clock.set(0);
      expect(cache.get(client.id)).toBeUndefined();
    });

    it('counts the TTL from the last set, not the first', () => {
      const client = clientRow();
      store(client);
      clock.set(800);
      const reread = { ...client, name: 'reporting (renamed)' };
      store(reread);

      clock.set(800 + CLIENT_CACHE_TTL_MS - 1);
      expect(cache.get(client.id)).toBe(reread);
      clock.set(800 + CLIENT_CACHE_TTL_MS);
      expect(cache.get(client.id)).toBeUndefined();
    });

    it('answers undefined for an id never stored', () => {
      expect(cache.get(randomUUID())).toBeUndefined();
    });
  });

  describe('keyed by client id', () => {
    it('a later set of the same client replaces the row', () => {
      const client = clientRow();
      store(client);
      const rotated = { ...client, secretHash: Buffer.alloc(32, 2) };
      store(rotated);
      expect(cache.get(client.id)).toBe(rotated);
    });

    it('keeps clients apart', () => {
      const [a, b] = [clientRow(), clientRow()];
      store(a);
      store(b);
      expect(cache.get(a.id)).toBe(a);
      expect(cache.get(b.id)).toBe(b);
    });
  });

  describe('evict and clear', () => {
    it('evict removes that client only', () => {
      const [a, b] = [clientRow(), clientRow()];
      store(a);
      store(b);

      cache.evict(a.id);

      expect(cache.get(a.id)).toBeUndefined();
      expect(cache.get(b.id)).toBe(b);
    });

    it('clear removes every client', () => {
      const clients = [clientRow(), clientRow(), clientRow()];
      clients.forEach(store);

      cache.clear();

      expect(clients.map((client) => cache.get(client.id))).toEqual([
        undefined,
        undefined,
        undefined,
      ]);
    });

    it('a client set again after evict or clear is served again (neither is a ban)', () => {
      const client = clientRow();
      store(client);
      cache.evict(client.id);
      store(client);
      expect(cache.get(client.id)).toBe(client);

      cache.clear();
      store(client);
      expect(cache.get(client.id)).toBe(client);
    });
  });

  describe('epoch guard', () => {
    it('does not store a row read before an eviction of that client; stores one read after it', () => {
      const client = clientRow();
      const before = cache.epoch;

      // The change commits and evicts while the read is in flight.
      cache.evict(client.id);
      cache.set(client, before);
      expect(cache.get(client.id)).toBeUndefined();

      cache.set(client, cache.epoch);
      expect(cache.get(client.id)).toBe(client);
    });

    it('does not store a row read before a clear (the feed was lost meanwhile)', () => {
      const client = clientRow();
      const before = cache.epoch;
      cache.clear();
      cache.set(client, before);
      expect(cache.get(client.id)).toBeUndefined();
    });

    it.each([
      ['evict of another client', (cache: ClientCache) => cache.evict(randomUUID())],
      ['evict of a client never stored', (cache: ClientCache) => cache.evict('no-such-client')],
      ['clear of an empty cache', (cache: ClientCache) => cache.clear()],
    ])('moves on with %s: a read from before is not stored', (_name, evict) => {
      const before = cache.epoch;
      evict(cache);
      expect(cache.epoch).not.toBe(before);
      const client = clientRow();
      cache.set(client, before);
      expect(cache.get(client.id)).toBeUndefined();
    });

    it('does not move on with reads, stores or expiry', () => {
      const before = cache.epoch;
      const client = clientRow();
      cache.set(client, before);
      cache.get(client.id);
      cache.get(randomUUID());
      clock.set(CLIENT_CACHE_TTL_MS);
      expect(cache.get(client.id)).toBeUndefined();
      expect(cache.epoch).toBe(before);
    });

    it('a stale set does not disturb the row already there', () => {
      const client = clientRow();
      const stale = cache.epoch;
      cache.evict(client.id);
      const current = { ...client, scopes: [] };
      store(current);

      cache.set(client, stale);

      expect(cache.get(client.id)).toBe(current);
    });
  });

  describe('bound', () => {
    /** Fills the cache to its bound; answers the rows in insertion order. */
    function fill(): Client[] {
      const clients = Array.from({ length: MAX_ENTRIES }, () => clientRow());
      clients.forEach(store);
      return clients;
    }

    it('drops the oldest inserted client when one more would exceed the bound', () => {
      const clients = fill();
      const extra = clientRow();
      const before = cache.epoch;

      store(extra);

      expect(cache.get(clients[0]!.id)).toBeUndefined();
      expect(cache.get(clients[1]!.id)).toBe(clients[1]);
      expect(cache.get(clients[MAX_ENTRIES - 1]!.id)).toBe(clients[MAX_ENTRIES - 1]);
      expect(cache.get(extra.id)).toBe(extra);
      // A drop for room is no eviction: reads in flight may still store.
      expect(cache.epoch).toBe(before);
    });

    it('replaces a client already held at the bound without dropping any other', () => {
      const clients = fill();
      const reread = { ...clients[0]!, name: 'reporting (renamed)' };

      store(reread);

      expect(cache.get(reread.id)).toBe(reread);
      expect(clients.slice(1).every((client) => cache.get(client.id) === client)).toBe(true);
    });
  });
});
