import { createHash, randomUUID } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ClientService, type GrantType } from '@gatehouse/identity';
import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { givenAuthApi } from '../support/test-app.js';

const FIRST_PARTY_CLIENT_ID = 'gatehouse-first-party';
const SCOPES = ['reports:read', 'reports:write'];

const AUTHENTICATION_FAILED = {
  error: 'invalid_client',
  error_description: 'Client authentication failed.',
};

type Params = Readonly<Record<string, string>>;

interface ServiceClient {
  readonly id: string;
  readonly secret: string;
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded, then joined and Basic-encoded. */
function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${formEncode(id)}:${formEncode(secret)}`).toString('base64')}`;
}

/** `POST /oauth/token` form-encoded, optionally with an Authorization header. */
function tokenForm(
  app: NestFastifyApplication,
  params: Params,
  authorization?: string,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(authorization ? { authorization } : {}),
    },
    payload: new URLSearchParams(params).toString(),
  });
}

function expectOAuthError(
  response: LightMyRequestResponse,
  status: number,
  body: { error: string; error_description: string },
): void {
  expect(response.statusCode).toBe(status);
  expect(response.json()).toEqual(body);
  expect(response.headers['cache-control']).toBe('no-store');
  expect(response.headers['pragma']).toBe('no-cache');
}

describe('POST /oauth/token with grant_type=client_credentials', () => {
  let app: NestFastifyApplication;
  let dataSource: DataSource;

  beforeAll(async () => {
    app = await givenAuthApi();
    dataSource = app.get(DataSource);
  });
  afterAll(() => app.close());

  async function givenService(
    grantTypes: readonly GrantType[] = ['client_credentials'],
    scopes: readonly string[] = SCOPES,
  ): Promise<ServiceClient> {
    const { client, clientSecret } = await app.get(ClientService).create({
      name: `reporting service ${randomUUID()}`,
      grantTypes,
      scopes,
    });
    return { id: client.id, secret: clientSecret! };
  }

  const clientCredentials = (service: ServiceClient, extra: Params = {}) =>
    tokenForm(
      app,
      { grant_type: 'client_credentials', ...extra },
      basic(service.id, service.secret),
    );

  describe('a confidential client with the grant', () => {
    it('gets an access token and no refresh token with client_secret_basic, never cached', async () => {
      const service = await givenService();
      const response = await clientCredentials(service);

      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 900,
        scope: 'reports:read reports:write',
      });
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.headers['pragma']).toBe('no-cache');
    });

    it('gets the same with client_secret_post', async () => {
      const service = await givenService();
      const response = await tokenForm(app, {
        grant_type: 'client_credentials',
        client_id: service.id,
        client_secret: service.secret,
      });

      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 900,
        scope: 'reports:read reports:write',
      });
    });

    it('gets the same from a JSON body', async () => {
      const service = await givenService();
      const response = await app.inject({
        method: 'POST',
        url: '/oauth/token',
        payload: {
          grant_type: 'client_credentials',
          client_id: service.id,
          client_secret: service.secret,
        },
      });
      expect(response.statusCode).toBe(200);
      expect(response.json()).not.toHaveProperty('refresh_token');
    });

    it('gets a JWT whose subject is the client itself, with no session id and no roles', async () => {
      const service = await givenService();
      const { access_token: accessToken } = (await clientCredentials(service)).json<{
        access_token: string;
      }>();

      expect(decodeProtectedHeader(accessToken)).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
      const claims = decodeJwt(accessToken);
      expect(claims).toEqual({
        iss: 'http://localhost:3000',
        aud: 'gatehouse',
        sub: service.id,
        client_id: service.id,
        scope: 'reports:read reports:write',
        iat: expect.any(Number),
        exp: expect.any(Number),
        jti: expect.any(String),
      });
      expect(claims).not.toHaveProperty('sid');
      expect(claims.exp! - claims.iat!).toBe(900);
    });

    it('gets the requested subset of its registered scopes', async () => {
      const service = await givenService();
      const response = await clientCredentials(service, { scope: 'reports:read' });

      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ scope: 'reports:read' });
      expect(decodeJwt(response.json<{ access_token: string }>().access_token).scope).toBe(
        'reports:read',
      );
    });

    it('gets an empty scope when it registered none', async () => {
      const service = await givenService(['client_credentials'], []);
      const response = await clientCredentials(service);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ scope: '' });
    });

    it('answers invalid_scope to a scope it has not registered', async () => {
      const service = await givenService();
      const response = await clientCredentials(service, { scope: 'reports:read users:manage' });
      expectOAuthError(response, 400, {
        error: 'invalid_scope',
        error_description: 'The requested scope is not registered for this client.',
      });
    });

    it('creates no session for the client', async () => {
      const service = await givenService();
      expect((await clientCredentials(service)).statusCode).toBe(200);
      expect((await clientCredentials(service)).statusCode).toBe(200);

      const sessions = await dataSource.query<unknown[]>(
        'SELECT id FROM sessions WHERE client_id = $1',
        [service.id],
      );
      expect(sessions).toEqual([]);
    });

    it('decodes form-urlencoded Basic credentials', async () => {
      const id = `svc:${randomUUID()} reporting+%`;
      const secret = 'p@ss:w rd+%/é';
      await dataSource.query(
        `INSERT INTO clients (id, name, secret_hash, grant_types, scopes, first_party)
         VALUES ($1, $2, $3, $4, $5, false)`,
        [
          id,
          'oddly named service',
          createHash('sha256').update(secret).digest(),
          ['client_credentials'],
          [],
        ],
      );

      const response = await tokenForm(
        app,
        { grant_type: 'client_credentials' },
        basic(id, secret),
      );

      expect(response.statusCode).toBe(200);
      expect(decodeJwt(response.json<{ access_token: string }>().access_token).sub).toBe(id);
    });
  });

  describe('client authentication', () => {
    it('answers a wrong secret sent with Basic with 401 invalid_client and a Basic challenge', async () => {
      const service = await givenService();
      const response = await clientCredentials({ id: service.id, secret: `${service.secret}x` });

      expectOAuthError(response, 401, AUTHENTICATION_FAILED);
      expect(response.headers['www-authenticate']).toBe('Basic realm="gatehouse"');
    });

    it('answers a wrong client_secret_post with 401 invalid_client and no challenge', async () => {
      const service = await givenService();
      const response = await tokenForm(app, {
        grant_type: 'client_credentials',
        client_id: service.id,
        client_secret: 'not-the-secret',
      });

      expectOAuthError(response, 401, AUTHENTICATION_FAILED);
      expect(response.headers['www-authenticate']).toBeUndefined();
    });

    it('answers a confidential client that sends no secret with 401 invalid_client', async () => {
      const service = await givenService();
      const response = await tokenForm(app, {
        grant_type: 'client_credentials',
        client_id: service.id,
      });
      expectOAuthError(response, 401, AUTHENTICATION_FAILED);
    });

    it('answers an unknown client exactly like a wrong secret', async () => {
      const service = await givenService();
      const wrongSecret = await clientCredentials({ id: service.id, secret: 'nope' });
      const unknown = await clientCredentials({ id: randomUUID(), secret: 'nope' });

      expectOAuthError(unknown, 401, AUTHENTICATION_FAILED);
      expect(unknown.body).toBe(wrongSecret.body);
      expect(unknown.headers['www-authenticate']).toBe(wrongSecret.headers['www-authenticate']);
    });

    it('answers a request naming no client with 401 invalid_client', async () => {
      const response = await tokenForm(app, { grant_type: 'client_credentials' });
      expectOAuthError(response, 401, {
        error: 'invalid_client',
        error_description: 'Client authentication is required.',
      });
      expect(response.headers['www-authenticate']).toBeUndefined();
    });

    it('refuses client_secret_basic and client_secret_post together', async () => {
      const service = await givenService();
      const response = await clientCredentials(service, {
        client_id: service.id,
        client_secret: service.secret,
      });
      expectOAuthError(response, 400, {
        error: 'invalid_request',
        error_description: 'Use one client authentication method, not two.',
      });
    });

    it('refuses a client_id in the body that differs from the Basic one', async () => {
      const service = await givenService();
      const response = await clientCredentials(service, { client_id: randomUUID() });
      expectOAuthError(response, 400, {
        error: 'invalid_request',
        error_description: 'client_id differs from the authenticated client.',
      });
    });

    it('accepts a client_id in the body equal to the Basic one', async () => {
      const service = await givenService();
      const response = await clientCredentials(service, { client_id: service.id });
      expect(response.statusCode).toBe(200);
    });

    it('answers Basic credentials without a colon with invalid_request', async () => {
      const authorization = `Basic ${Buffer.from('no-separator').toString('base64')}`;
      const response = await tokenForm(app, { grant_type: 'client_credentials' }, authorization);
      expectOAuthError(response, 400, {
        error: 'invalid_request',
        error_description: 'Malformed Basic credentials.',
      });
    });

    // Product bug: oauth-params.ts decodes the Basic parts with decodeURIComponent, whose URIError
    // on a broken escape is rendered as 500 server_error.
    it.each([
      ['the secret', (id: string) => `${id}:%zz`],
      ['the client id', () => '%E0%A4%A:secret'],
    ])(
      'answers broken percent-encoding in %s of Basic credentials with invalid_request',
      async (_label, credentials) => {
        const service = await givenService();
        const authorization = `Basic ${Buffer.from(credentials(service.id)).toString('base64')}`;
        const response = await tokenForm(app, { grant_type: 'client_credentials' }, authorization);
        expectOAuthError(response, 400, {
          error: 'invalid_request',
          error_description: 'Malformed Basic credentials.',
        });
      },
    );
  });

  describe('clients that may not use the grant', () => {
    it('answers unauthorized_client to a public client, even one registered for it', async () => {
      const { client } = await app.get(ClientService).create({
        name: `cli ${randomUUID()}`,
        grantTypes: ['client_credentials'],
        public: true,
      });
      const response = await tokenForm(app, {
        grant_type: 'client_credentials',
        client_id: client.id,
      });
      expectOAuthError(response, 400, {
        error: 'unauthorized_client',
        error_description: 'A public client cannot use client credentials.',
      });
    });

    it('answers unauthorized_client to a confidential client without the grant', async () => {
      const service = await givenService(['refresh_token']);
      const response = await clientCredentials(service);
      expectOAuthError(response, 400, {
        error: 'unauthorized_client',
        error_description: 'The client may not use the client_credentials grant.',
      });
    });

    it('answers unauthorized_client to the first-party client', async () => {
      const response = await tokenForm(app, {
        grant_type: 'client_credentials',
        client_id: FIRST_PARTY_CLIENT_ID,
      });
      expectOAuthError(response, 400, {
        error: 'unauthorized_client',
        error_description: 'The client may not use the client_credentials grant.',
      });
    });
  });
});

describe('client secrets at rest', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenAuthApi();
  });
  afterAll(() => app.close());

  const rowOf = async (id: string) => {
    const [row] = await app
      .get(DataSource)
      .query<Record<string, unknown>[]>('SELECT * FROM clients WHERE id = $1', [id]);
    return row!;
  };

  it('stores only the SHA-256 of a confidential client secret', async () => {
    const { client, clientSecret } = await app.get(ClientService).create({
      name: `billing ${randomUUID()}`,
      grantTypes: ['client_credentials'],
      scopes: ['invoices:read'],
    });
    expect(clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const row = await rowOf(client.id);
    const hash = row['secret_hash'] as Buffer;
    expect(hash.equals(createHash('sha256').update(clientSecret!).digest())).toBe(true);
    for (const encoding of ['utf8', 'hex', 'base64', 'base64url'] as const) {
      expect(hash.toString(encoding)).not.toContain(clientSecret);
    }
    expect(JSON.stringify(row)).not.toContain(clientSecret);
    expect(row).toMatchObject({
      grant_types: ['client_credentials'],
      scopes: ['invoices:read'],
      first_party: false,
    });
  });

  it('stores no secret for a public client', async () => {
    const { client, clientSecret } = await app.get(ClientService).create({
      name: `cli ${randomUUID()}`,
      grantTypes: ['refresh_token'],
      public: true,
    });
    expect(clientSecret).toBeNull();
    expect(await rowOf(client.id)).toMatchObject({ secret_hash: null, first_party: false });
  });
});

describe('a client-credentials access token on auth-api', () => {
  let app: NestFastifyApplication;
  let accessToken: string;

  beforeAll(async () => {
    app = await givenAuthApi();
    const { client, clientSecret } = await app.get(ClientService).create({
      name: `robot ${randomUUID()}`,
      grantTypes: ['client_credentials'],
    });
    const response = await tokenForm(
      app,
      { grant_type: 'client_credentials' },
      basic(client.id, clientSecret!),
    );
    expect(response.statusCode).toBe(200);
    accessToken = response.json<{ access_token: string }>().access_token;
  });
  afterAll(() => app.close());

  it.each([
    ['GET', '/me'],
    ['GET', '/me/sessions'],
    ['POST', '/me/sessions/revoke-others'],
  ] as const)(
    '%s %s answers 403 FORBIDDEN: a service is never granted account',
    async (method, url) => {
      const response = await app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${accessToken}` },
      });
      expect(response.statusCode).toBe(403);
      expect(response.json()).toEqual({
        statusCode: 403,
        error: 'FORBIDDEN',
        message: 'Missing scope: account.',
      });
    },
  );
});
