import { describe, expect, it } from 'vitest';

import { insecureIssuerAllowed } from './identity-provider.service.js';

describe('insecureIssuerAllowed (plain-http upstream issuers)', () => {
  it.each(['http://127.0.0.1:8080', 'http://localhost:9000/realms/test', 'http://[::1]:4000'])(
    'allows %s outside production',
    (issuer) => {
      expect(insecureIssuerAllowed(new URL(issuer), 'development')).toBe(true);
      expect(insecureIssuerAllowed(new URL(issuer), 'test')).toBe(true);
    },
  );

  it.each(['http://127.0.0.1:8080', 'http://localhost:9000'])(
    'refuses %s in production',
    (issuer) => {
      expect(insecureIssuerAllowed(new URL(issuer), 'production')).toBe(false);
    },
  );

  it.each(['http://sso.example.com', 'http://10.0.0.5', 'http://127.0.0.1.nip.io'])(
    'refuses a non-loopback http issuer (%s) anywhere',
    (issuer) => {
      expect(insecureIssuerAllowed(new URL(issuer), 'development')).toBe(false);
    },
  );

  it('is not about https issuers, which are always allowed by the caller', () => {
    expect(insecureIssuerAllowed(new URL('https://sso.example.com'), 'production')).toBe(false);
  });
});
