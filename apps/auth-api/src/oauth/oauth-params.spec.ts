import { OAuthError } from '@gatehouse/identity';
import { describe, expect, it } from 'vitest';

import { clientCredentialsOf, optionalParam, requiredParam } from './oauth-params.js';

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

function oauthErrorOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof OAuthError ? error.error : 'not an OAuthError';
  }
  return undefined;
}

describe(clientCredentialsOf.name, () => {
  it('reads client_secret_basic, form-urldecoding id and secret (RFC 6749 §2.3.1)', () => {
    expect(clientCredentialsOf(basic('my%20client', 'p%3Ass+word'), {})).toEqual({
      clientId: 'my client',
      clientSecret: 'p:ss word',
    });
  });

  it('reads client_secret_post', () => {
    expect(clientCredentialsOf(undefined, { client_id: 'c', client_secret: 's' })).toEqual({
      clientId: 'c',
      clientSecret: 's',
    });
  });

  it('reads a public client that only names itself', () => {
    expect(clientCredentialsOf(undefined, { client_id: 'app' })).toEqual({
      clientId: 'app',
      clientSecret: null,
    });
  });

  it('answers null when the client presents nothing', () => {
    expect(clientCredentialsOf(undefined, {})).toBeNull();
  });

  it('refuses two authentication methods at once', () => {
    expect(oauthErrorOf(() => clientCredentialsOf(basic('c', 's'), { client_secret: 's' }))).toBe(
      'invalid_request',
    );
  });

  it('refuses a client_id that contradicts the Basic credentials', () => {
    expect(oauthErrorOf(() => clientCredentialsOf(basic('c', 's'), { client_id: 'other' }))).toBe(
      'invalid_request',
    );
  });
});

describe('OAuth parameters', () => {
  it('treats an empty value as absent (RFC 6749 §3.1)', () => {
    expect(optionalParam({ scope: '' }, 'scope')).toBeUndefined();
  });

  it('refuses a repeated parameter (RFC 6749 §3.2)', () => {
    expect(oauthErrorOf(() => optionalParam({ scope: ['a', 'b'] }, 'scope'))).toBe(
      'invalid_request',
    );
  });

  it('names a missing required parameter', () => {
    expect(() => requiredParam({}, 'grant_type')).toThrow('The parameter grant_type is required.');
  });
});
