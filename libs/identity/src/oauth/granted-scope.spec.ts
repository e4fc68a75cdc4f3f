import { describe, expect, it } from 'vitest';
import type { Client } from '@gatehouse/persistence';

import { defaultScopeOf, grantedScope } from './granted-scope.js';
import { type OAuthError } from './oauth.errors.js';

const client = (firstParty: boolean, scopes: string[]) => ({ firstParty, scopes }) as Client;
const platformApps = client(true, ['openid', 'email', 'offline_access', 'account', 'admin']);
const thirdParty = client(false, ['openid', 'email', 'notes:read']);

describe('defaultScopeOf', () => {
  it('leaves the OpenID Connect scopes out for a first-party client: they are asked for by name', () => {
    expect(defaultScopeOf(platformApps)).toEqual(['account', 'admin']);
  });

  it('gives a third-party client every scope it registered, as before', () => {
    expect(defaultScopeOf(thirdParty)).toEqual(['openid', 'email', 'notes:read']);
  });
});

describe('grantedScope', () => {
  it('grants what a first-party client asks for among its scopes, openid included', () => {
    expect(grantedScope(platformApps, 'openid email openid account')).toBe('openid email account');
  });

  it('answers invalid_scope for a scope the client is not registered with', () => {
    let thrown: unknown;
    try {
      grantedScope(platformApps, 'openid profile');
    } catch (error) {
      thrown = error;
    }
    expect((thrown as OAuthError).error).toBe('invalid_scope');
  });

  it('falls back to the default when no scope is sent', () => {
    expect(grantedScope(platformApps, undefined)).toBe('account admin');
  });
});
