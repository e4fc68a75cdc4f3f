import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { givenOperatorSession, TRUSTED_ORIGIN } from '../support/http.js';
import { givenAdminApi, givenAuthApi } from '../support/test-app.js';

const REDIRECT_URI = 'https://client.example/cb';
const POST_LOGOUT_URI = 'https://client.example/signed-out';

interface ClientBody {
  clientId: string;
  clientSecret?: string | null;
  public: boolean;
  grantTypes: string[];
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  requireConsent: boolean;
  requireState: boolean;
}

describe('admin-api clients: the authorization code grant and its consent and state flags', () => {
  let auth: NestFastifyApplication;
  let admin: NestFastifyApplication;
  let cookie: string;

  beforeAll(async () => {
    auth = await givenAuthApi();
    admin = await givenAdminApi();
    ({ cookie } = await givenOperatorSession(auth));
  });
  afterAll(async () => {
    await admin.close();
    await auth.close();
  });

  const call = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) =>
    admin.inject({
      method,
      url,
      headers: { cookie, origin: TRUSTED_ORIGIN },
      ...(payload ? { payload } : {}),
    });

  async function created(payload: object): Promise<ClientBody> {
    const response = await call('POST', '/admin/clients', payload);
    expect(response.statusCode).toBe(201);
    return response.json<ClientBody>();
  }

  it('registers an authorization_code client with its redirect URIs and flags, and shows them back', async () => {
    const client = await created({
      name: 'notes web app',
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['notes:read'],
      redirectUris: [REDIRECT_URI],
      public: true,
      requireConsent: false,
      requireState: true,
    });
    const expected = {
      clientId: client.clientId,
      public: true,
      grantTypes: ['authorization_code', 'refresh_token'],
      redirectUris: [REDIRECT_URI],
      requireConsent: false,
      requireState: true,
    };
    expect(client).toMatchObject({ ...expected, clientSecret: null });
    const shown = await call('GET', `/admin/clients/${client.clientId}`);
    expect(shown.statusCode).toBe(200);
    expect(shown.json()).toMatchObject(expected);
  });

  it('asks consent and does not require state unless told', async () => {
    const client = await created({
      name: 'defaults',
      grantTypes: ['authorization_code'],
      redirectUris: [REDIRECT_URI],
    });
    expect(client).toMatchObject({ requireConsent: true, requireState: false });
  });

  it('flips the flags with PATCH, each alone, leaving the other as it was', async () => {
    const { clientId } = await created({
      name: 'flags',
      grantTypes: ['authorization_code'],
      redirectUris: [REDIRECT_URI],
    });
    const consentOff = await call('PATCH', `/admin/clients/${clientId}`, { requireConsent: false });
    expect(consentOff.statusCode).toBe(200);
    expect(consentOff.json()).toMatchObject({ requireConsent: false, requireState: false });
    const stateOn = await call('PATCH', `/admin/clients/${clientId}`, { requireState: true });
    expect(stateOn.json()).toMatchObject({ requireConsent: false, requireState: true });
    const back = await call('PATCH', `/admin/clients/${clientId}`, {
      requireConsent: true,
      requireState: false,
    });
    expect(back.json()).toMatchObject({ requireConsent: true, requireState: false });
    expect((await call('GET', `/admin/clients/${clientId}`)).json()).toMatchObject({
      requireConsent: true,
      requireState: false,
    });
  });

  it('gives the authorization_code grant to an existing client with PATCH', async () => {
    const { clientId } = await created({ name: 'machine', grantTypes: ['client_credentials'] });
    const response = await call('PATCH', `/admin/clients/${clientId}`, {
      grantTypes: ['client_credentials', 'authorization_code'],
      redirectUris: [REDIRECT_URI],
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      grantTypes: ['client_credentials', 'authorization_code'],
      redirectUris: [REDIRECT_URI],
    });
  });

  it.each([
    ['an unknown grant type', { grantTypes: ['authorization_code', 'implicit'] }, 'grantTypes'],
    ['the first-party password grant', { grantTypes: ['password'] }, 'grantTypes'],
    ['a requireConsent that is not a boolean', { requireConsent: 'no' }, 'requireConsent'],
    ['a requireState that is not a boolean', { requireState: 1 }, 'requireState'],
  ])(
    'refuses %s with 400 VALIDATION_FAILED, on create and on update',
    async (_name, field, name) => {
      const base = {
        name: 'invalid',
        grantTypes: ['authorization_code'],
        redirectUris: [REDIRECT_URI],
      };
      const create = await call('POST', '/admin/clients', { ...base, ...field });
      const expected = {
        statusCode: 400,
        error: 'VALIDATION_FAILED',
        message: 'The request is invalid.',
        details: [{ field: name, messages: expect.any(Array) }],
      };
      expect(create.json()).toEqual(expected);
      expect(create.statusCode).toBe(400);
      const { clientId } = await created(base);
      const update = await call('PATCH', `/admin/clients/${clientId}`, field);
      expect(update.json()).toEqual(expected);
      expect(update.statusCode).toBe(400);
    },
  );

  it('refuses the authorization_code grant without a redirect URI, on create and on update', async () => {
    const expected = {
      statusCode: 400,
      error: 'VALIDATION_FAILED',
      message: 'The request is invalid.',
      details: [
        {
          field: 'redirectUris',
          messages: ['redirectUris must not be empty with the authorization_code grant'],
        },
      ],
    };
    const create = await call('POST', '/admin/clients', {
      name: 'nowhere to go',
      grantTypes: ['authorization_code'],
    });
    expect(create.statusCode).toBe(400);
    expect(create.json()).toEqual(expected);
    const { clientId } = await created({ name: 'machine', grantTypes: ['client_credentials'] });
    const update = await call('PATCH', `/admin/clients/${clientId}`, {
      grantTypes: ['authorization_code'],
    });
    expect(update.statusCode).toBe(400);
    expect(update.json()).toEqual(expected);
    // Rolled back: the client is unchanged.
    expect((await call('GET', `/admin/clients/${clientId}`)).json()).toMatchObject({
      grantTypes: ['client_credentials'],
    });
  });

  describe('postLogoutRedirectUris (RP-initiated logout)', () => {
    /** What auth-api's end-session endpoint does with the URI for this client, no one signed in. */
    async function endSession(clientId: string, uri: string): Promise<number> {
      const response = await auth.inject({
        method: 'GET',
        url: `/oauth/end_session?${new URLSearchParams({
          client_id: clientId,
          post_logout_redirect_uri: uri,
        }).toString()}`,
      });
      if (response.statusCode === 303) {
        expect(response.headers.location).toBe(uri);
      }
      return response.statusCode;
    }

    it('registers them with the client and shows them back; none unless given', async () => {
      const client = await created({
        name: 'logout aware',
        grantTypes: ['authorization_code'],
        redirectUris: [REDIRECT_URI],
        postLogoutRedirectUris: [POST_LOGOUT_URI, 'http://localhost:8080/bye'],
      });
      expect(client.postLogoutRedirectUris).toEqual([POST_LOGOUT_URI, 'http://localhost:8080/bye']);
      const shown = await call('GET', `/admin/clients/${client.clientId}`);
      expect(shown.json()).toMatchObject({
        postLogoutRedirectUris: [POST_LOGOUT_URI, 'http://localhost:8080/bye'],
      });
      const listed = (await call('GET', '/admin/clients')).json<ClientBody[]>();
      expect(listed.find(({ clientId }) => clientId === client.clientId)).toMatchObject({
        postLogoutRedirectUris: [POST_LOGOUT_URI, 'http://localhost:8080/bye'],
      });
      expect(await endSession(client.clientId, POST_LOGOUT_URI)).toBe(303);

      const plain = await created({
        name: 'no logout',
        grantTypes: ['authorization_code'],
        redirectUris: [REDIRECT_URI],
      });
      expect(plain.postLogoutRedirectUris).toEqual([]);
      expect(await endSession(plain.clientId, POST_LOGOUT_URI)).toBe(400);
    });

    it('replaces them with PATCH, leaves them alone when other fields change, and clears them with []', async () => {
      const { clientId } = await created({
        name: 'changing',
        grantTypes: ['authorization_code'],
        redirectUris: [REDIRECT_URI],
        postLogoutRedirectUris: [POST_LOGOUT_URI],
      });
      const moved = await call('PATCH', `/admin/clients/${clientId}`, {
        postLogoutRedirectUris: ['https://client.example/goodbye'],
      });
      expect(moved.statusCode).toBe(200);
      expect(moved.json()).toMatchObject({
        postLogoutRedirectUris: ['https://client.example/goodbye'],
        redirectUris: [REDIRECT_URI],
      });
      // auth-api reads the client afresh: the old URI is refused at once, the new one accepted.
      expect(await endSession(clientId, POST_LOGOUT_URI)).toBe(400);
      expect(await endSession(clientId, 'https://client.example/goodbye')).toBe(303);

      const renamed = await call('PATCH', `/admin/clients/${clientId}`, { name: 'renamed' });
      expect(renamed.json()).toMatchObject({
        name: 'renamed',
        postLogoutRedirectUris: ['https://client.example/goodbye'],
      });

      const cleared = await call('PATCH', `/admin/clients/${clientId}`, {
        postLogoutRedirectUris: [],
      });
      expect(cleared.json()).toMatchObject({ postLogoutRedirectUris: [] });
      expect(await endSession(clientId, 'https://client.example/goodbye')).toBe(400);
    });

    it.each([
      ['a value that is no URL', ['not a url']],
      ['a javascript: URI', ['javascript:alert(1)']],
      ['a custom scheme', ['myapp://signed-out']],
      ['a string instead of an array', POST_LOGOUT_URI],
      ['a non-string entry', [42]],
    ])('refuses %s with 400 naming the field, on create and on update', async (_name, value) => {
      const base = {
        name: 'invalid logout',
        grantTypes: ['authorization_code'],
        redirectUris: [REDIRECT_URI],
      };
      const expected = {
        statusCode: 400,
        error: 'VALIDATION_FAILED',
        message: 'The request is invalid.',
        details: [{ field: 'postLogoutRedirectUris', messages: expect.any(Array) }],
      };
      const create = await call('POST', '/admin/clients', {
        ...base,
        postLogoutRedirectUris: value,
      });
      expect(create.statusCode).toBe(400);
      expect(create.json()).toEqual(expected);
      const { clientId } = await created({ ...base, postLogoutRedirectUris: [POST_LOGOUT_URI] });
      const update = await call('PATCH', `/admin/clients/${clientId}`, {
        postLogoutRedirectUris: value,
      });
      expect(update.statusCode).toBe(400);
      expect(update.json()).toEqual(expected);
      // Unchanged.
      expect((await call('GET', `/admin/clients/${clientId}`)).json()).toMatchObject({
        postLogoutRedirectUris: [POST_LOGOUT_URI],
      });
    });

    it('names the bad entry in the message', async () => {
      const response = await call('POST', '/admin/clients', {
        name: 'message',
        grantTypes: ['authorization_code'],
        redirectUris: [REDIRECT_URI],
        postLogoutRedirectUris: [POST_LOGOUT_URI, 'not a url'],
      });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({
        details: [
          {
            field: 'postLogoutRedirectUris',
            messages: ['postLogoutRedirectUris: not a url is not an absolute URI'],
          },
        ],
      });
    });
  });
});
