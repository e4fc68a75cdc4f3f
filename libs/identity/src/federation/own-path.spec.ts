import { describe, expect, it } from 'vitest';

import { ownPath } from './federation.service.js';

const ISSUER = 'https://auth.example.com';

describe('ownPath (return_to of a federated sign-in)', () => {
  it.each([
    ['/me/sessions', '/me/sessions'],
    ['/account?tab=links', '/account?tab=links'],
    ['https://auth.example.com/account', '/account'],
  ])('keeps %s on our origin as %s', (given, kept) => {
    expect(ownPath(given, ISSUER)).toBe(kept);
  });

  it.each([
    'https://evil.example/',
    '//evil.example/x',
    '/\\evil.example',
    'https://auth.example.com.evil.example/',
    'javascript:alert(1)',
    'account',
    '/a\r\nSet-Cookie: x=1',
    '',
    undefined,
  ])('drops %j', (given) => {
    expect(ownPath(given, ISSUER)).toBeNull();
  });
});
