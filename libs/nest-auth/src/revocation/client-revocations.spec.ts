import { describe, expect, it } from 'vitest';

import { ClientRevocations } from './client-revocations.js';

describe('ClientRevocations', () => {
  let now = 1_000_000;
  const revocations = () => new ClientRevocations(() => now);

  it('refuses the tokens a client obtained up to the revocation, not after it', () => {
    now = 1_000_000;
    const list = revocations();
    list.add({ clientId: 'c', revokedAtMs: 1_000_500, untilMs: 1_900_000 });
    expect(list.isRevoked('c', 999)).toBe(true);
    expect(list.isRevoked('c', 1_000)).toBe(true); // the revocation's own second: in doubt, refuse
    expect(list.isRevoked('c', 1_001)).toBe(false);
    expect(list.isRevoked('other', 999)).toBe(false);
  });

  it('keeps the latest revocation of a client', () => {
    now = 1_000_000;
    const list = revocations();
    list.add({ clientId: 'c', revokedAtMs: 1_005_000, untilMs: 1_900_000 });
    list.add({ clientId: 'c', revokedAtMs: 1_002_000, untilMs: 1_800_000 });
    expect(list.isRevoked('c', 1_004)).toBe(true);
  });

  it('forgets a revocation once no token it covers can be valid', () => {
    now = 1_000_000;
    const list = revocations();
    list.add({ clientId: 'c', revokedAtMs: 1_000_000, untilMs: 1_100_000 });
    now = 1_100_000;
    expect(list.isRevoked('c', 999)).toBe(false);
    list.add({ clientId: 'd', revokedAtMs: 900_000, untilMs: 1_000_000 });
    expect(list.isRevoked('d', 800)).toBe(false);
  });
});
