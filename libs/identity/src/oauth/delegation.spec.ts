import { describe, expect, it } from 'vitest';

import { audienceOf, delegatedScope } from './delegation.js';
import { type OAuthError } from './oauth.errors.js';

const firstParty = { firstParty: true, scopes: ['account', 'admin', 'openid'] };
const thirdParty = { firstParty: false, scopes: ['account', 'admin', 'notes:read'] };
const audiences = {
  default: 'gatehouse',
  admin: 'urn:gatehouse:admin-api',
  registered: new Set(['https://notes.example']),
};

describe('delegatedScope', () => {
  it('keeps admin for an operator of a first-party client', () => {
    expect(delegatedScope(firstParty, ['support'], 'account admin openid')).toBe(
      'account admin openid',
    );
  });

  it('drops admin for a user without an operator role', () => {
    expect(delegatedScope(firstParty, ['moderator'], 'account admin')).toBe('account');
  });

  it('never grants reserved scopes to a third-party client, even one registered with them', () => {
    expect(delegatedScope(thirdParty, ['admin'], 'account admin notes:read')).toBe('notes:read');
  });

  it('gives a client acting for itself neither account nor admin', () => {
    expect(delegatedScope(firstParty, null, 'account admin openid')).toBe('openid');
  });

  it('drops scopes the client is no longer registered for', () => {
    expect(
      delegatedScope({ firstParty: true, scopes: ['account'] }, ['admin'], 'account admin'),
    ).toBe('account');
  });
});

describe('audienceOf', () => {
  it('mints for the default audience, plus admin-api with the admin scope', () => {
    expect(audienceOf(audiences, 'account', [])).toEqual({
      audience: ['gatehouse'],
      scope: 'account',
    });
    expect(audienceOf(audiences, 'account admin', [])).toEqual({
      audience: ['gatehouse', 'urn:gatehouse:admin-api'],
      scope: 'account admin',
    });
  });

  it('mints for exactly the resources asked for', () => {
    expect(audienceOf(audiences, 'account admin', ['urn:gatehouse:admin-api'])).toEqual({
      audience: ['urn:gatehouse:admin-api'],
      scope: 'admin',
    });
    expect(
      audienceOf(audiences, 'account admin', ['gatehouse', 'urn:gatehouse:admin-api']),
    ).toEqual({
      audience: ['gatehouse', 'urn:gatehouse:admin-api'],
      scope: 'account admin',
    });
  });

  it('drops the admin scope from a token not minted for admin-api', () => {
    expect(audienceOf(audiences, 'account admin', ['gatehouse'])).toEqual({
      audience: ['gatehouse'],
      scope: 'account',
    });
  });

  it('mints for a registered resource server, without the reserved scopes it does not honour', () => {
    expect(audienceOf(audiences, 'account admin notes:read', ['https://notes.example'])).toEqual({
      audience: ['https://notes.example'],
      scope: 'notes:read',
    });
  });

  it('refuses admin-api without the admin scope, and unknown resources, as invalid_target', () => {
    for (const resources of [['urn:gatehouse:admin-api'], ['https://unknown.example']]) {
      expect(() => audienceOf(audiences, 'account', resources)).toThrow(
        expect.objectContaining({ error: 'invalid_target' }) as OAuthError,
      );
    }
  });
});
