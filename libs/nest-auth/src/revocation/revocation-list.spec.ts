import { describe, expect, it } from 'vitest';

import { RevocationList } from './revocation-list.js';

describe(RevocationList.name, () => {
  it('refuses a revoked session until the moment its tokens have all expired', () => {
    let now = 1_000;
    const list = new RevocationList(10, () => now);
    list.add('s1', 2_000);
    expect(list.isRevoked('s1')).toBe(true);
    expect(list.isRevoked('s2')).toBe(false);
    now = 2_000;
    expect(list.isRevoked('s1')).toBe(false);
    expect(list.size).toBe(0);
  });

  it('ignores an event that is already over, and keeps the later of two expiries', () => {
    const list = new RevocationList(10, () => 1_000);
    list.add('old', 999);
    expect(list.size).toBe(0);
    list.add('s', 5_000);
    list.add('s', 3_000);
    expect(list.isRevoked('s')).toBe(true);
  });

  it('stays within its bound, dropping expired entries first, then those that expire soonest', () => {
    let now = 0;
    const list = new RevocationList(3, () => now);
    list.add('a', 100);
    list.add('b', 500);
    list.add('c', 400);
    now = 150;
    list.add('d', 300); // a has expired: pruned, nothing live is lost
    expect(list.size).toBe(3);
    list.add('e', 600); // full of live entries: d (soonest to expire) goes
    expect(list.size).toBe(3);
    expect(['b', 'c', 'e'].every((id) => list.isRevoked(id))).toBe(true);
    expect(list.isRevoked('d')).toBe(false);
  });
});
