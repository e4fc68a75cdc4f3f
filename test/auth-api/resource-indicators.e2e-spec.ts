import { randomUUID } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { authorizationUrl, authorizeInBrowser } from '../support/code-flow.js';
import {
  givenOperatorAt,
  givenUserAt,
  passwordGrantAt,
  postForm,
  type TestUser,
  type TokenResponse,
} from '../support/http.js';
import {
  freePort,
  givenListeningAdminApi,
  givenListeningAuthApi,
  givenNotesApi,
} from '../support/test-app.js';

const ADMIN_AUDIENCE = 'urn:gatehouse:admin-api';
const REDIRECT_URI = 'https://rp.example/callback';

/**
 * RFC 8707 resource indicators for registered resource servers: an operator gives a resource server
 * its `audience`; clients ask `resource=` at the authorization and token endpoints; the token is for
 * exactly that server, which alone (with the default audience's) may introspect it.
 */
describe('resource indicators (RFC 8707) for registered resource servers', () => {
  const NOTES = `https://notes-${randomUUID()}.example`;
  const REPORTS = `https://reports-${randomUUID()}.example`;
  let auth: NestFastifyApplication;
  let admin: NestFastifyApplication;
  let notes: NestFastifyApplication;
  let issuer: string;
  let adminUrl: string;
  let notesUrl: string;
  let operatorToken: string;
  let notesServer: { clientId: string; clientSecret: string };
  let reportsServer: { clientId: string; clientSecret: string };

  beforeAll(async () => {
    ({ app: auth, issuer } = await givenListeningAuthApi());
    ({ app: admin, url: adminUrl } = await givenListeningAdminApi(issuer));
    const operator = await givenOperatorAt(auth, issuer);
    operatorToken = (await tokensOf(operator)).access_token;
    notesServer = (await register({ resourceServer: true, audience: NOTES })).body as never;
    reportsServer = (await register({ resourceServer: true, audience: REPORTS })).body as never;
    notes = await givenNotesApi(issuer, { NOTES_API_AUDIENCE: NOTES });
    const port = await freePort();
    await notes.listen(port, '127.0.0.1');
    notesUrl = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await notes?.close();
    await admin?.close();
    await auth?.close();
  });

  async function register(fields: object): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${adminUrl}/admin/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `server ${randomUUID()}`, grantTypes: [], ...fields }),
    });
    return { status: response.status, body: await response.json() };
  }

  async function tokensOf(user: TestUser, parameters: Record<string, string> = {}) {
    const response = await passwordGrantAt(issuer, user, parameters);
    expect(response.status).toBe(200);
    return (await response.json()) as TokenResponse;
  }

  const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

  async function introspect(
    server: { clientId: string; clientSecret: string },
    token: string,
  ): Promise<{ active: boolean }> {
    const response = await postForm(`${issuer}/oauth/introspect`, {
      token,
      client_id: server.clientId,
      client_secret: server.clientSecret,
    });
    expect(response.status).toBe(200);
    return (await response.json()) as { active: boolean };
  }

  describe('registration', () => {
    it('shows a resource server with its resource indicator', async () => {
      const listed = await fetch(
        `${adminUrl}/admin/clients/${notesServer.clientId}`,
        bearer(operatorToken),
      );
      expect(await listed.json()).toMatchObject({ resourceServer: true, audience: NOTES });
    });

    it.each([
      ['taken by another resource server', { resourceServer: true, audience: NOTES }],
      ['on a client that is no resource server', { audience: `https://x-${randomUUID()}.example` }],
      ["the platform's own", { resourceServer: true, audience: ADMIN_AUDIENCE }],
      ['not an absolute URI', { resourceServer: true, audience: 'notes' }],
      ['with a fragment', { resourceServer: true, audience: 'https://notes.example/#x' }],
    ])('refuses an audience %s with 400 naming the field', async (_case, fields) => {
      const response = await register(fields);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({
        error: 'VALIDATION_FAILED',
        details: [{ field: 'audience' }],
      });
    });
  });

  describe('the token endpoint', () => {
    it('mints a token for exactly the resource asked for, which only that server accepts', async () => {
      const user = await givenUserAt(issuer);
      const tokens = await tokensOf(user, { resource: NOTES });
      const claims = decodeJwt(tokens.access_token);
      expect(claims.aud).toBe(NOTES);
      // `account` is auth-api's scope: it stays out of a token auth-api will not accept.
      expect(tokens.scope).toBe('');
      expect(claims['scope']).toBe('');

      expect((await fetch(`${notesUrl}/whoami`, bearer(tokens.access_token))).status).toBe(200);
      const atAuth = await fetch(`${issuer}/me`, bearer(tokens.access_token));
      expect(atAuth.status).toBe(401);
      expect(await atAuth.json()).toMatchObject({ error: 'INVALID_TOKEN' });
      expect((await fetch(`${adminUrl}/admin/clients`, bearer(tokens.access_token))).status).toBe(
        401,
      );
    });

    it('answers invalid_target for a resource that is not registered', async () => {
      const response = await passwordGrantAt(issuer, await givenUserAt(issuer), {
        resource: 'https://unregistered.example',
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'invalid_target' });
    });

    it('narrows the audience at refresh, to any resource the grant can reach', async () => {
      const user = await givenUserAt(issuer);
      const tokens = await tokensOf(user);
      const response = await postForm(`${issuer}/oauth/token`, {
        grant_type: 'refresh_token',
        client_id: 'gatehouse-first-party',
        refresh_token: tokens.refresh_token,
        resource: REPORTS,
      });
      expect(response.status).toBe(200);
      expect(decodeJwt(((await response.json()) as TokenResponse).access_token).aud).toBe(REPORTS);
    });
  });

  describe('the authorization endpoint', () => {
    async function givenRelyingParty(): Promise<string> {
      const response = await register({
        grantTypes: ['authorization_code', 'refresh_token'],
        scopes: ['openid', 'notes:read'],
        redirectUris: [REDIRECT_URI],
        public: true,
      });
      expect(response.status).toBe(201);
      return (response.body as { clientId: string }).clientId;
    }

    async function redeem(
      clientId: string,
      flow: { callback: URL; codeVerifier: string },
      extra: Record<string, string> = {},
    ): Promise<Response> {
      return postForm(`${issuer}/oauth/token`, {
        grant_type: 'authorization_code',
        code: flow.callback.searchParams.get('code')!,
        redirect_uri: REDIRECT_URI,
        code_verifier: flow.codeVerifier,
        client_id: clientId,
        ...extra,
      });
    }

    it('carries the resources of the authorization request into the tokens', async () => {
      const clientId = await givenRelyingParty();
      const user = await givenUserAt(issuer);
      const flow = await authorizeInBrowser(
        {
          issuer,
          clientId,
          redirectUri: REDIRECT_URI,
          scope: 'notes:read',
          extra: { resource: NOTES },
        },
        user,
      );
      const response = await redeem(clientId, flow);
      expect(response.status).toBe(200);
      const tokens = (await response.json()) as TokenResponse;
      expect(decodeJwt(tokens.access_token)).toMatchObject({ aud: NOTES, scope: 'notes:read' });
      expect((await fetch(`${notesUrl}/notes/stats`, bearer(tokens.access_token))).status).toBe(
        200,
      );
    });

    it('lets the token request pick among them, never another', async () => {
      const clientId = await givenRelyingParty();
      const user = await givenUserAt(issuer);
      const request = {
        issuer,
        clientId,
        redirectUri: REDIRECT_URI,
        scope: 'notes:read',
        extra: { resource: [NOTES, REPORTS] },
      };
      const refused = await redeem(clientId, await authorizeInBrowser(request, user), {
        resource: 'https://other.example',
      });
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({ error: 'invalid_target' });

      const picked = await redeem(clientId, await authorizeInBrowser(request, user), {
        resource: REPORTS,
      });
      expect(picked.status).toBe(200);
      expect(decodeJwt(((await picked.json()) as TokenResponse).access_token).aud).toBe(REPORTS);
    });

    it('sends an unknown resource back to the client as invalid_target', async () => {
      const clientId = await givenRelyingParty();
      const { url } = authorizationUrl({
        issuer,
        clientId,
        redirectUri: REDIRECT_URI,
        scope: 'notes:read',
        extra: { resource: 'https://unregistered.example' },
      });
      const response = await fetch(url, { redirect: 'manual' });
      expect(response.status).toBe(303);
      const location = new URL(response.headers.get('location')!);
      expect(location.origin + location.pathname).toBe(REDIRECT_URI);
      expect(location.searchParams.get('error')).toBe('invalid_target');
    });
  });

  describe('introspection (RFC 7662 §4: a resource server learns about its own tokens)', () => {
    it('describes tokens for its audience or the default one, and nothing else', async () => {
      const user = await givenUserAt(issuer);
      const forNotes = (await tokensOf(user, { resource: NOTES })).access_token;
      const forEveryone = (await tokensOf(user)).access_token;
      expect(await introspect(notesServer, forNotes)).toMatchObject({ active: true, aud: NOTES });
      expect(await introspect(notesServer, forEveryone)).toMatchObject({ active: true });
      expect(await introspect(reportsServer, forNotes)).toEqual({ active: false });
    });

    it("tells no resource server about an operator's admin-api token", async () => {
      const operator = await givenOperatorAt(auth, issuer);
      const forAdmin = (await tokensOf(operator, { resource: ADMIN_AUDIENCE })).access_token;
      expect(decodeJwt(forAdmin).aud).toBe(ADMIN_AUDIENCE);
      expect(await introspect(notesServer, forAdmin)).toEqual({ active: false });
    });
  });
});
