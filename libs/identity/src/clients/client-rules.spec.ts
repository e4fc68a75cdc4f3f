import { describe, expect, it } from 'vitest';

import { ValidationFailedError } from '../identity.errors.js';
import { assertRegistrable, redirectUriProblem } from './client-rules.js';

describe('redirectUriProblem', () => {
  it.each([
    'https://app.example.com/cb',
    'https://app.example.com:8443/cb?x=1',
    'http://127.0.0.1:8080/cb',
    'http://[::1]:8080/cb',
    'http://localhost:8080/cb',
    'com.example.app:/cb',
  ])('accepts %s', (uri) => {
    expect(redirectUriProblem(uri)).toBeNull();
  });

  it.each([
    ['http://app.example.com/cb', 'not loopback'],
    ['https://app.example.com/cb#x', 'fragment'],
    ['https://app.example.com/cb#', 'fragment'],
    ['https://u:p@app.example.com/cb', 'userinfo'],
    ['https://u@app.example.com/cb', 'userinfo'],
    ['https://*.example.com/cb', 'wildcard'],
    ['javascript:alert(1)', 'scheme'],
    ['myapp:/cb', 'scheme'],
    ['/relative/cb', 'absolute'],
    ['http://127.0.0.1.example.com/cb', 'not loopback'],
  ])('refuses %s (%s), naming it', (uri, reason) => {
    const problem = redirectUriProblem(uri);
    expect(problem).toContain(uri);
    expect(problem).toContain(reason);
  });
});

describe('assertRegistrable', () => {
  const client = {
    grantTypes: ['client_credentials'],
    redirectUris: [],
    scopes: ['notes:read'],
    firstParty: false,
    resourceServer: false,
    confidential: true,
    audience: null,
  };
  const reserved = { default: 'gatehouse', admin: 'urn:gatehouse:admin-api' };

  it('accepts a plain third-party client', () => {
    expect(() => assertRegistrable(client, reserved)).not.toThrow();
  });

  it('reserves account and admin to first-party clients', () => {
    expect(() => assertRegistrable({ ...client, scopes: ['admin', 'account'] }, reserved)).toThrow(
      ValidationFailedError,
    );
    expect(() =>
      assertRegistrable({ ...client, scopes: ['admin', 'account'], firstParty: true }, reserved),
    ).not.toThrow();
  });

  it('needs a secret for a resource server', () => {
    expect(() =>
      assertRegistrable({ ...client, resourceServer: true, confidential: false }, reserved),
    ).toThrow(ValidationFailedError);
  });

  it("gives a resource indicator only to a resource server, never the platform's own", () => {
    const server = { ...client, resourceServer: true, audience: 'https://notes.example' };
    expect(() => assertRegistrable(server, reserved)).not.toThrow();
    for (const audience of [
      'gatehouse',
      'urn:gatehouse:admin-api',
      'notes',
      'https://n.example#x',
    ]) {
      expect(() => assertRegistrable({ ...server, audience }, reserved)).toThrow(
        ValidationFailedError,
      );
    }
    expect(() => assertRegistrable({ ...server, resourceServer: false }, reserved)).toThrow(
      ValidationFailedError,
    );
  });
});
