import { randomUUID } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  givenCookieSessionAt,
  givenOperatorAt,
  passwordGrantAt,
  type TokenResponse,
  TRUSTED_ORIGIN,
} from '../support/http.js';
import { givenListeningAdminApi, givenListeningAuthApi } from '../support/test-app.js';

const FIRST_PARTY = 'gatehouse-first-party';
const REDIRECT_URI = 'https://app.example.com/cb';

interface ClientBody {
  clientId: string;
  clientSecret?: string | null;
  name: string;
  public: boolean;
  firstParty: boolean;
  resourceServer: boolean;
  grantTypes: string[];
  scopes: string[];
  redirectUris: string[];
  postLogoutRedirectUris: string[];
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

type As = 'cookie' | 'token';

/** A 400 VALIDATION_FAILED whose details name `field`; with `naming`, one of its messages names it. */
function expectValidationFailed(answer: Answer, field: string, naming?: string): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(400);
  expect(answer.body).toEqual({
    statusCode: 400,
    error: 'VALIDATION_FAILED',
    message: expect.any(String),
    details: expect.arrayContaining([{ field, messages: expect.any(Array) }]),
  });
  if (naming !== undefined) {
    const { details } = answer.body as { details: { field: string; messages: string[] }[] };
    const messages = details.filter((detail) => detail.field === field).flatMap((d) => d.messages);
    expect(
      messages.some((message) => message.includes(naming)),
      `a message of ${field} names ${naming}: ${JSON.stringify(messages)}`,
    ).toBe(true);
  }
}

/**
 * Issue 14, registration rules at admin-api: the reserved scopes `account` and `admin` only with
 * `firstParty: true`; redirect URIs that are https, loopback http or a private-use scheme, with no
 * fragment, credentials or wildcard; `resourceServer` for confidential clients only. Over real sockets,
 * as an operator with a cookie session and with a first-party bearer token.
 */
describe('admin-api client registration rules', () => {
  let auth: NestFastifyApplication;
  let admin: NestFastifyApplication;
  let issuer: string;
  let adminUrl: string;
  let cookie: string;
  let token: string;

  beforeAll(async () => {
    ({ app: auth, issuer } = await givenListeningAuthApi());
    ({ app: admin, url: adminUrl } = await givenListeningAdminApi(issuer));
    const operator = await givenOperatorAt(auth, issuer);
    ({ cookie } = await givenCookieSessionAt(issuer, operator));
    const tokens = await passwordGrantAt(issuer, operator);
    expect(tokens.status).toBe(200);
    token = ((await tokens.json()) as TokenResponse).access_token;
  });
  afterAll(async () => {
    await admin?.close();
    await auth?.close();
  });

  async function call(
    method: 'GET' | 'POST' | 'PATCH',
    path: string,
    body?: object,
    as: As = 'cookie',
  ): Promise<Answer> {
    const response = await fetch(`${adminUrl}${path}`, {
      method,
      headers: {
        ...(as === 'cookie'
          ? { cookie, origin: TRUSTED_ORIGIN }
          : { authorization: `Bearer ${token}` }),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }

  async function created(body: object, as: As = 'cookie'): Promise<ClientBody> {
    const answer = await call('POST', '/admin/clients', body, as);
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    return answer.body as ClientBody;
  }

  async function shown(clientId: string): Promise<ClientBody> {
    const answer = await call('GET', `/admin/clients/${clientId}`);
    expect(answer.status).toBe(200);
    return answer.body as ClientBody;
  }

  async function namedClients(name: string): Promise<ClientBody[]> {
    const answer = await call('GET', '/admin/clients', undefined, 'token');
    expect(answer.status).toBe(200);
    return (answer.body as ClientBody[]).filter((client) => client.name === name);
  }

  const codeClient = (overrides: object = {}) => ({
    name: `rules-${randomUUID()}`,
    grantTypes: ['authorization_code', 'refresh_token'],
    scopes: ['openid', 'notes:read'],
    redirectUris: [REDIRECT_URI],
    public: true,
    ...overrides,
  });

  describe('reserved scopes: account and admin', () => {
    it('the built-in first-party client is public and registered with "openid email offline_access account admin"', async () => {
      const client = await shown(FIRST_PARTY);
      expect(client).toMatchObject({
        clientId: FIRST_PARTY,
        public: true,
        firstParty: true,
        scopes: ['openid', 'email', 'offline_access', 'account', 'admin'],
      });
      expect(client.grantTypes).toEqual(
        expect.arrayContaining([
          'password',
          'refresh_token',
          'urn:ietf:params:oauth:grant-type:device_code',
        ]),
      );
    });

    for (const as of ['cookie', 'token'] as const) {
      it.each([['admin'], ['account']])(
        `refuses %s without firstParty: true with 400 naming scopes, and registers nothing (${as})`,
        async (reserved) => {
          for (const firstParty of [undefined, false]) {
            const body = codeClient({
              scopes: ['notes:read', reserved],
              ...(firstParty === undefined ? {} : { firstParty }),
            });
            expectValidationFailed(await call('POST', '/admin/clients', body, as), 'scopes');
            expect(await namedClients(body.name)).toEqual([]);
          }
        },
      );
    }

    it('registers a client with firstParty: true and the reserved scopes, and shows firstParty: true', async () => {
      const client = await created(codeClient({ firstParty: true, scopes: ['account', 'admin'] }));
      expect(client).toMatchObject({ firstParty: true, scopes: ['account', 'admin'] });
      expect(await shown(client.clientId)).toMatchObject({
        firstParty: true,
        scopes: ['account', 'admin'],
      });
      const plain = await created(codeClient(), 'token');
      expect(plain.firstParty).toBe(false);
    });

    it.each([['admin'], ['account']])(
      'refuses a PATCH that adds %s to a third-party client, which stays as it was',
      async (reserved) => {
        const client = await created(codeClient());
        expectValidationFailed(
          await call('PATCH', `/admin/clients/${client.clientId}`, {
            scopes: ['openid', 'notes:read', reserved],
          }),
          'scopes',
        );
        expect(await shown(client.clientId)).toEqual(withoutSecret(client));
      },
    );

    it('refuses a PATCH of firstParty: false on a client holding a reserved scope', async () => {
      const client = await created(
        codeClient({ firstParty: true, scopes: ['notes:read', 'account'] }),
      );
      const answer = await call('PATCH', `/admin/clients/${client.clientId}`, {
        firstParty: false,
      });
      expect(answer.status, JSON.stringify(answer.body)).toBe(400);
      expect(answer.body).toMatchObject({ statusCode: 400, error: 'VALIDATION_FAILED' });
      expect(await shown(client.clientId)).toMatchObject({
        firstParty: true,
        scopes: ['notes:read', 'account'],
      });
    });
  });

  describe('redirect URIs', () => {
    const REFUSED = [
      ['plain http off loopback', 'http://app.example.com/cb'],
      ['a fragment', 'https://app.example.com/cb#x'],
      ['user information', 'https://u:p@app.example.com/cb'],
      ['a wildcard host', 'https://*.example.com/cb'],
    ];
    const ACCEPTED = [
      ['http on IPv4 loopback', 'http://127.0.0.1:8080/cb'],
      ['http on IPv6 loopback', 'http://[::1]:8080/cb'],
      ['http on localhost', 'http://localhost:8080/cb'],
      ['https', 'https://app.example.com/cb'],
      ['a private-use scheme (RFC 8252 §7.1)', 'com.example.app:/cb'],
    ];

    for (const field of ['redirectUris', 'postLogoutRedirectUris']) {
      describe(field, () => {
        it.each(REFUSED)(
          'refuses %s with 400 VALIDATION_FAILED naming the URI, on create and on update',
          async (_name, uri) => {
            const body = codeClient({ [field]: [REDIRECT_URI, uri] });
            expectValidationFailed(await call('POST', '/admin/clients', body), field, uri);
            expect(await namedClients(body.name)).toEqual([]);

            const client = await created(codeClient());
            expectValidationFailed(
              await call('PATCH', `/admin/clients/${client.clientId}`, { [field]: [uri] }),
              field,
              uri,
            );
            expect(await shown(client.clientId)).toMatchObject({
              redirectUris: [REDIRECT_URI],
              postLogoutRedirectUris: [],
            });
          },
        );

        it.each(ACCEPTED)('registers %s', async (_name, uri) => {
          const client = await created(codeClient({ [field]: [uri] }));
          expect(client).toMatchObject({ [field]: [uri] });
          expect(await shown(client.clientId)).toMatchObject({ [field]: [uri] });
        });
      });
    }
  });

  describe('resource servers', () => {
    it('registers a confidential client with resourceServer: true and shows it everywhere', async () => {
      const client = await created(
        { name: `rs-${randomUUID()}`, grantTypes: ['client_credentials'], resourceServer: true },
        'token',
      );
      expect(client).toMatchObject({
        public: false,
        resourceServer: true,
        clientSecret: expect.any(String),
      });
      expect(await shown(client.clientId)).toMatchObject({ resourceServer: true });
      expect(await namedClients(client.name)).toEqual([
        expect.objectContaining({ clientId: client.clientId, resourceServer: true }),
      ]);
    });

    it('is no resource server unless told', async () => {
      const client = await created({
        name: `svc-${randomUUID()}`,
        grantTypes: ['client_credentials'],
      });
      expect(client).toMatchObject({ resourceServer: false });
    });

    it('refuses resourceServer: true for a public client with 400 VALIDATION_FAILED', async () => {
      const body = {
        name: `public-rs-${randomUUID()}`,
        grantTypes: ['refresh_token'],
        public: true,
        resourceServer: true,
      };
      const answer = await call('POST', '/admin/clients', body);
      expect(answer.status, JSON.stringify(answer.body)).toBe(400);
      expect(answer.body).toMatchObject({ statusCode: 400, error: 'VALIDATION_FAILED' });
      expect(await namedClients(body.name)).toEqual([]);
    });
  });
});

/** A client as GET shows it: what POST answered, without the secret. */
function withoutSecret(client: ClientBody): Omit<ClientBody, 'clientSecret'> {
  return Object.fromEntries(
    Object.entries(client).filter(([key]) => key !== 'clientSecret'),
  ) as Omit<ClientBody, 'clientSecret'>;
}
