import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ClientService } from '@gatehouse/identity';
import {
  AccessTokenVerifier,
  IntrospectionRevocationCheck,
  remoteKeySource,
} from '@gatehouse/nest-auth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { givenTokens, givenUser } from '../support/http.js';
import { givenListeningAuthApi } from '../support/test-app.js';

/** A guard with no revocation feed asks auth-api per token instead (with a short cache). */
describe(IntrospectionRevocationCheck.name, () => {
  let auth: NestFastifyApplication;
  let issuer: string;
  let client: { id: string; secret: string };

  beforeAll(async () => {
    ({ app: auth, issuer } = await givenListeningAuthApi());
    const created = await auth.get(ClientService).create({
      name: 'feedless',
      grantTypes: [],
      resourceServer: true,
    });
    client = { id: created.client.id, secret: created.clientSecret! };
  });
  afterAll(() => auth.close());

  function verifier(cacheMs: number): AccessTokenVerifier {
    return new AccessTokenVerifier({
      issuer,
      audience: 'gatehouse',
      keys: remoteKeySource(`${issuer}/.well-known/jwks.json`),
      introspection: new IntrospectionRevocationCheck({
        endpoint: `${issuer}/oauth/introspect`,
        clientId: client.id,
        clientSecret: client.secret,
        cacheMs,
      }),
    });
  }

  const tokens = async () => givenTokens(auth, await givenUser(auth));

  const revoke = (refreshToken: string) =>
    auth.inject({
      method: 'POST',
      url: '/oauth/revoke',
      payload: { token: refreshToken, client_id: 'gatehouse-first-party' },
    });

  it('refuses a revoked session at once when it does not cache', async () => {
    const check = verifier(0);
    const { access_token, refresh_token } = await tokens();
    await expect(check.verify(access_token)).resolves.toMatchObject({
      client_id: 'gatehouse-first-party',
    });
    await revoke(refresh_token);
    await expect(check.verify(access_token)).rejects.toMatchObject({ code: 'SESSION_REVOKED' });
  });

  it('trades freshness for calls: a cached answer outlives a revocation until it expires', async () => {
    const check = verifier(60_000);
    const { access_token, refresh_token } = await tokens();
    await check.verify(access_token);
    await revoke(refresh_token);
    // Documented trade-off: within the cache period the revocation is not yet seen here.
    await expect(check.verify(access_token)).resolves.toMatchObject({ sub: expect.any(String) });
  });
});
