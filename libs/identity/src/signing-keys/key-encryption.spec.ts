import { randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { deriveKey, open, seal } from './key-encryption.js';

const kek = randomBytes(32);

describe('key encryption', () => {
  const key = deriveKey(kek, 'signing-keys');

  it('round-trips a secret and never stores it in clear', () => {
    const secret = Buffer.from('{"d":"private part"}');
    const sealed = seal(key, secret, 'kid-1');
    expect(sealed.includes(secret)).toBe(false);
    expect(open(key, sealed, 'kid-1')).toEqual(secret);
  });

  it('uses a fresh IV every time', () => {
    const secret = Buffer.from('same input');
    expect(seal(key, secret, 'kid-1')).not.toEqual(seal(key, secret, 'kid-1'));
  });

  it('refuses another context, another purpose, another key and a flipped bit', () => {
    const sealed = seal(key, Buffer.from('secret'), 'kid-1');
    expect(() => open(key, sealed, 'kid-2')).toThrow();
    expect(() => open(deriveKey(kek, 'refresh-tokens'), sealed, 'kid-1')).toThrow();
    expect(() => open(deriveKey(randomBytes(32), 'signing-keys'), sealed, 'kid-1')).toThrow();
    const tampered = Buffer.from(sealed);
    tampered[20] = tampered[20]! ^ 1;
    expect(() => open(key, tampered, 'kid-1')).toThrow();
  });
});
