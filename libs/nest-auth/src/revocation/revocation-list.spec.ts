import { describe, expect, it } from 'vitest';

import { RevocationList, type RevocationStatus } from './revocation-list.js';

/** A list on a clock the test moves. */
function givenList(maxEntries: number): { list: RevocationList; at: (ms: number) => void } {
  let now = 0;
  return { list: new RevocationList(maxEntries, () => now), at: (ms) => (now = ms) };
}

describe(RevocationList.name, () => {
  it('refuses a revoked session until the moment its tokens have all expired', () => {
    const { list, at } = givenList(10);
    at(1_000);
    list.add('s1', 2_000);
    expect(list.lookup('s1')).toBe('revoked');
    expect(list.isRevoked('s1')).toBe(true);
    expect(list.lookup('s2')).toBe('clear');
    at(2_000);
    expect(list.lookup('s1')).toBe('clear');
    expect(list.size).toBe(0);
  });

  it('ignores an event that is already over, and keeps the later of two expiries', () => {
    const { list, at } = givenList(10);
    at(1_000);
    expect(list.add('old', 999)).toBe(true);
    expect(list.size).toBe(0);
    list.add('s', 5_000);
    list.add('s', 3_000);
    at(4_000);
    expect(list.lookup('s')).toBe('revoked');
    at(5_000);
    expect(list.lookup('s')).toBe('clear');
  });

  it('makes room by pruning expired entries, never a live one', () => {
    const { list, at } = givenList(3);
    list.add('a', 100);
    list.add('b', 500);
    list.add('c', 400);
    at(150);
    expect(list.add('d', 300)).toBe(true); // a has expired: pruned, nothing live is lost
    expect(list.size).toBe(3);
    expect(list.overflowUntil).toBeNull();
    expect(['b', 'c', 'd'].map((id) => list.lookup(id))).toEqual(['revoked', 'revoked', 'revoked']);
  });

  it('does not evict when full of live entries: it overflows, and answers unknown for what it does not hold', () => {
    const { list } = givenList(3);
    list.add('a', 1_000);
    list.add('b', 2_000);
    list.add('c', 3_000);
    expect(list.add('d', 600)).toBe(false);
    expect(list.add('e', 2_500)).toBe(false);

    expect(list.size).toBe(3);
    expect(list.overflowUntil).toBe(2_500);
    const statuses: Record<string, RevocationStatus> = {};
    for (const id of ['a', 'b', 'c', 'd', 'e', 'never-revoked']) {
      statuses[id] = list.lookup(id);
    }
    expect(statuses).toEqual({
      a: 'revoked',
      b: 'revoked',
      c: 'revoked',
      d: 'unknown',
      e: 'unknown',
      'never-revoked': 'unknown',
    });
    expect(list.isRevoked('d')).toBe(false);
  });

  it('stays in overflow until the latest expiry it could not store has passed, then is complete again', () => {
    const { list, at } = givenList(2);
    list.add('a', 10_000);
    list.add('b', 10_000);
    list.add('lost-early', 700);
    list.add('lost-late', 900);
    list.add('lost-middle', 800);
    expect(list.overflowUntil).toBe(900);

    at(899);
    expect(list.lookup('lost-late')).toBe('unknown');
    at(900);
    expect(list.overflowUntil).toBeNull();
    expect(list.lookup('lost-late')).toBe('clear');
    expect(list.lookup('other')).toBe('clear');
    expect(list.lookup('a')).toBe('revoked');
  });

  it('stores again as soon as entries expire during an overflow, which still lasts its course', () => {
    const { list, at } = givenList(2);
    list.add('a', 100);
    list.add('b', 5_000);
    list.add('lost', 1_000);
    at(200); // a has expired: room for one
    expect(list.add('c', 2_000)).toBe(true);
    expect(list.lookup('c')).toBe('revoked');
    expect(list.add('d', 3_000)).toBe(false);
    expect(list.overflowUntil).toBe(3_000);
    expect(list.lookup('lost')).toBe('unknown');
    at(3_000);
    expect(list.lookup('d')).toBe('clear');
  });

  it('updates a session it holds even when full, without overflowing', () => {
    const { list, at } = givenList(1);
    list.add('a', 1_000);
    expect(list.add('a', 2_000)).toBe(true);
    expect(list.overflowUntil).toBeNull();
    at(1_500);
    expect(list.lookup('a')).toBe('revoked');
  });

  it('prunes in expiry order whatever the order of arrival (a min-heap, not insertion order)', () => {
    const capacity = 1_000;
    const { list, at } = givenList(capacity);
    // Arrival order unrelated to expiry: a permutation of 1..capacity.
    const expiries = Array.from(
      { length: capacity },
      (_, index) => ((index * 7_919) % capacity) + 1,
    );
    expiries.forEach((until, index) => list.add(`s${index}`, until * 10));
    expect(list.size).toBe(capacity);

    // At t, exactly the entries with until <= t are pruned by the next add, so that many fit again.
    at(2_500);
    for (let extra = 0; extra < 250; extra += 1) {
      expect(list.add(`late${extra}`, 100_000)).toBe(true);
    }
    expect(list.add('one-too-many', 100_000)).toBe(false);
    expiries.forEach((until, index) => {
      expect(list.lookup(`s${index}`)).toBe(until * 10 > 2_500 ? 'revoked' : 'unknown');
    });
  });

  it('agrees with a plain model of its rules over a long random run', () => {
    const capacity = 50;
    const { list, at } = givenList(capacity);
    const held = new Map<string, number>();
    let overflowUntil = 0;
    let seed = 42;
    // mulberry32: a small seeded generator, so a failure replays.
    const random = (below: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % below;
    };
    let now = 0;
    const seen = new Set<string>();
    for (let step = 0; step < 20_000; step += 1) {
      now += random(3);
      at(now);
      const id = `s${random(200)}`;
      if (random(2) === 0) {
        const until = now + 1 + random(400);
        const known = held.get(id);
        let stored = true;
        if (until <= now) {
          stored = true;
        } else if (known !== undefined && known > now) {
          held.set(id, Math.max(known, until));
        } else {
          for (const [key, value] of held) {
            if (value <= now) {
              held.delete(key);
            }
          }
          if (held.size >= capacity) {
            overflowUntil = Math.max(overflowUntil, until);
            stored = false;
          } else {
            held.set(id, until);
          }
        }
        expect(list.add(id, until)).toBe(stored);
        seen.add(stored ? 'stored' : 'not stored');
      } else {
        const until = held.get(id);
        const expected: RevocationStatus =
          until !== undefined && until > now
            ? 'revoked'
            : now < overflowUntil
              ? 'unknown'
              : 'clear';
        expect(list.lookup(id)).toBe(expected);
        seen.add(expected);
      }
    }
    expect([...seen].sort()).toEqual(['clear', 'not stored', 'revoked', 'stored', 'unknown']);
  });

  it('refuses a capacity below one entry', () => {
    expect(() => new RevocationList(0)).toThrow(RangeError);
  });

  it('answers unknown for what it does not hold until its feed has caught up', () => {
    const list = new RevocationList(10);
    list.add('revoked', Date.now() + 60_000);
    list.awaitFeed();
    expect(list.awaitingFeed).toBe(true);
    expect(list.lookup('revoked')).toBe('revoked');
    expect(list.lookup('other')).toBe('unknown');
    list.feedCaughtUp();
    expect(list.awaitingFeed).toBe(false);
    expect(list.lookup('other')).toBe('clear');
  });
});
