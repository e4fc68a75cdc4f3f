import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import {
  generateSessionToken,
  hashSessionToken,
  isWellFormedSessionToken,
} from './session-token.js';

describe('session tokens', () => {
  it('are 32 random bytes in base64url', () => {
    const token = generateSessionToken();
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(isWellFormedSessionToken(token)).toBe(true);
    expect(generateSessionToken()).not.toBe(token);
  });

  it('hash to their SHA-256', () => {
    const token = generateSessionToken();
    expect(hashSessionToken(token)).toEqual(createHash('sha256').update(token).digest());
  });

  it.each(['', 'short', `${'a'.repeat(42)}=`, `${'a'.repeat(43)}x`, `${'a'.repeat(42)}/`])(
    'refuses the malformed value %j',
    (value) => {
      expect(isWellFormedSessionToken(value)).toBe(false);
    },
  );
});
