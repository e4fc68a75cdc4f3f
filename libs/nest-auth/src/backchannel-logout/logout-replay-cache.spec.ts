import { describe, expect, it } from 'vitest';

import { InMemoryLogoutReplayCache } from './logout-replay-cache.js';

describe('InMemoryLogoutReplayCache', () => {
  it('accepts a jti once until it expires, then again', () => {
    let now = 1_000;
    const cache = new InMemoryLogoutReplayCache(10, () => now);
    expect(cache.remember('a', 2_000)).toBe(true);
    expect(cache.remember('a', 2_000)).toBe(false);
    now = 2_000;
    expect(cache.remember('a', 3_000)).toBe(true);
  });

  it('stays within its bound, dropping what expires soonest', () => {
    const now = 0;
    const cache = new InMemoryLogoutReplayCache(2, () => now);
    expect(cache.remember('soon', 100)).toBe(true);
    expect(cache.remember('late', 900)).toBe(true);
    expect(cache.remember('third', 500)).toBe(true);
    // 'soon' was dropped to make room; 'late' and 'third' are still refused.
    expect(cache.remember('late', 900)).toBe(false);
    expect(cache.remember('third', 500)).toBe(false);
  });
});
