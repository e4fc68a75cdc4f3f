import { describe, expect, it } from 'vitest';

import { bearerCredentialOf, bearerTokenOf } from './bearer-token.js';

describe('bearerTokenOf and bearerCredentialOf (RFC 6750 §2.1)', () => {
  it('take what follows the scheme, in any case, and its spaces', () => {
    for (const header of ['Bearer a.b.c', 'bearer a.b.c', 'BEARER   a.b.c']) {
      expect(bearerTokenOf(header)).toBe('a.b.c');
      expect(bearerCredentialOf(header)).toBe('a.b.c');
    }
  });

  it('see no bearer credential in another scheme, a bare scheme or a scheme without a space', () => {
    for (const header of [
      undefined,
      '',
      'Bearer',
      'Bearer ',
      'Bearer   ',
      'Bearera.b.c',
      'Basic a.b',
    ]) {
      expect(bearerTokenOf(header)).toBeUndefined();
      expect(bearerCredentialOf(header)).toBeUndefined();
    }
  });

  it('leave whitespace inside the credential to bearerTokenOf, which refuses it', () => {
    for (const header of ['Bearer a.b.c extra', 'Bearer a.b.c\tx', 'Bearer a.b.c\n']) {
      expect(bearerTokenOf(header)).toBeUndefined();
      expect(bearerCredentialOf(header)).toBe(header.slice(7));
    }
  });
});
