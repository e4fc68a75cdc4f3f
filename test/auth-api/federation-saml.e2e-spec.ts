import { randomUUID } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LightMyRequestResponse } from 'fastify';
import {
  ClientService,
  IdentityProviderService,
  type SamlProviderInput,
} from '@gatehouse/identity';
import { Database } from '@gatehouse/persistence';
import { DOMParser } from '@xmldom/xmldom';
import { decodeJwt } from 'jose';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { authorizationUrl } from '../support/code-flow.js';
import { uniqueEmail } from '../support/factories.js';
import { setCookies, withCookie } from '../support/http.js';
import {
  givenSamlTestKey,
  NAMEID_EMAIL,
  readAuthnRequest,
  type SamlAssertionSpec,
  samlResponse,
  type SamlTestKey,
} from '../support/saml-idp.js';
import { givenAuthApi } from '../support/test-app.js';

const ISSUER = 'http://localhost:3000';
const REDIRECT_URI = 'https://app.example.com/callback';
const ENTRY_POINT = 'https://idp.example.test/saml/sso';
const IDP_ENTITY_ID = 'https://idp.example.test/metadata';

const cookieValue = (response: LightMyRequestResponse, name: string): string | undefined =>
  setCookies(response)
    .map((header) => new RegExp(`^${name}=([^;]*);`).exec(header)?.[1])
    .find((value) => value !== undefined && value !== '');

/**
 * Issue 20, acceptance 3: SAML 2.0 federation. The test IdP signs its assertions with xml-crypto under
 * a certificate made at test start (openssl); the ACS must accept a signed one once and refuse the
 * unsigned, the wrong audience, the expired, the wrong InResponseTo and the replay, each audited.
 */
describe('federation with a SAML 2.0 identity provider', () => {
  let auth: NestFastifyApplication;
  let db: DataSource;
  let key: SamlTestKey;
  let otherKey: SamlTestKey;

  beforeAll(async () => {
    auth = await givenAuthApi();
    db = auth.get(DataSource);
    key = givenSamlTestKey();
    otherKey = givenSamlTestKey('someone-else');
  });
  afterAll(async () => {
    await auth?.close();
  });

  async function givenSamlProvider(
    settings: Partial<SamlProviderInput> = {},
  ): Promise<{ id: string; slug: string; acsUrl: string; entityId: string }> {
    const slug = `saml-${randomUUID().slice(0, 8)}`;
    const provider = await auth.get(IdentityProviderService).create(
      {
        type: 'saml',
        slug,
        displayName: `SAML ${slug}`,
        entryPoint: ENTRY_POINT,
        idpCert: key.cert,
        ...settings,
      },
      'system',
    );
    return {
      id: provider.id,
      slug,
      acsUrl: provider.saml!.acsUrl,
      entityId: provider.saml!.spEntityId,
    };
  }

  /** GET start: the AuthnRequest, its RelayState and the browser's state cookie. */
  async function start(
    slug: string,
    query = '',
  ): Promise<{ requestId: string; relayState: string; cookie: string; location: string }> {
    const response = await auth.inject({ method: 'GET', url: `/federation/${slug}/start${query}` });
    expect(response.statusCode).toBe(303);
    const location = response.headers.location as string;
    const request = readAuthnRequest(location);
    const state = cookieValue(response, 'gh_federation');
    expect(state).toBeDefined();
    expect(request.relayState).toBe(state);
    return {
      requestId: request.id,
      relayState: request.relayState!,
      cookie: `gh_federation=${state}`,
      location,
    };
  }

  function postAcs(
    slug: string,
    form: { SAMLResponse: string; RelayState: string },
    cookie?: string,
  ): Promise<LightMyRequestResponse> {
    return auth.inject({
      method: 'POST',
      url: `/federation/${slug}/saml/acs`,
      // The IdP's page posts cross-site: its origin, not ours.
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'https://idp.example.test',
        ...(cookie ? { cookie } : {}),
      },
      payload: new URLSearchParams(form).toString(),
    });
  }

  /** start → the IdP answers with `overrides` → the ACS, with the browser's state cookie. */
  async function federate(
    provider: { slug: string; acsUrl: string; entityId: string },
    overrides: Partial<SamlAssertionSpec> = {},
    query = '',
  ): Promise<{
    acs: LightMyRequestResponse;
    form: { SAMLResponse: string; RelayState: string };
    cookie: string;
    email: string;
  }> {
    const started = await start(provider.slug, query);
    const email = uniqueEmail('saml');
    const form = {
      SAMLResponse: samlResponse({
        key,
        idpEntityId: IDP_ENTITY_ID,
        acsUrl: provider.acsUrl,
        audience: provider.entityId,
        inResponseTo: started.requestId,
        nameId: `persistent-${randomUUID()}`,
        attributes: { email },
        ...overrides,
      }),
      RelayState: started.relayState,
    };
    const acs = await postAcs(provider.slug, form, started.cookie);
    return { acs, form, cookie: started.cookie, email };
  }

  async function refusals(slug: string): Promise<{ reason: string; check: string | null }[]> {
    return db.query(
      `SELECT details->>'reason' AS reason, details->>'check' AS check FROM audit_events
       WHERE action = 'federation.refused' AND details->>'provider' = $1 ORDER BY at, id`,
      [slug],
    );
  }

  async function sessionsOf(email: string): Promise<{ id: string; amr: string[] }[]> {
    return db.query(
      `SELECT s.id, s.amr FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = $1`,
      [email],
    );
  }

  it('serves SP metadata: our entity ID, the ACS (HTTP-POST), signed assertions wanted', async () => {
    const provider = await givenSamlProvider();
    const response = await auth.inject({
      method: 'GET',
      url: `/federation/${provider.slug}/saml/metadata`,
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('application/samlmetadata+xml');
    const document = new DOMParser().parseFromString(response.body, 'text/xml');
    const root = document.documentElement;
    expect(root.localName).toBe('EntityDescriptor');
    expect(root.getAttribute('entityID')).toBe(
      `${ISSUER}/federation/${provider.slug}/saml/metadata`,
    );
    const sp = root.getElementsByTagNameNS(
      'urn:oasis:names:tc:SAML:2.0:metadata',
      'SPSSODescriptor',
    )[0]!;
    expect(sp.getAttribute('WantAssertionsSigned')).toBe('true');
    const acs = root.getElementsByTagNameNS(
      'urn:oasis:names:tc:SAML:2.0:metadata',
      'AssertionConsumerService',
    )[0]!;
    expect(acs.getAttribute('Location')).toBe(`${ISSUER}/federation/${provider.slug}/saml/acs`);
    expect(acs.getAttribute('Binding')).toBe('urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST');

    const none = await auth.inject({ method: 'GET', url: '/federation/no-such-idp/saml/metadata' });
    expect(none.statusCode).toBe(404);
  });

  it('redirects to the IdP with an AuthnRequest; the state cookie is SameSite=None for the cross-site post', async () => {
    const provider = await givenSamlProvider({ spEntityId: 'urn:gatehouse:test-sp' });
    const response = await auth.inject({
      method: 'GET',
      url: `/federation/${provider.slug}/start`,
    });
    expect(response.statusCode).toBe(303);
    const location = new URL(response.headers.location as string);
    expect(`${location.origin}${location.pathname}`).toBe(ENTRY_POINT);
    const request = readAuthnRequest(location.href);
    expect(request.id).toMatch(/^_[0-9a-f]{40}$/);
    expect(request.acsUrl).toBe(provider.acsUrl);
    expect(request.issuer).toBe('urn:gatehouse:test-sp');
    const cookie = setCookies(response).find((header) => header.startsWith('gh_federation='))!;
    expect(cookie).toMatch(/SameSite=None/i);
    expect(cookie).toMatch(/Secure/);
    expect(cookie).toMatch(/HttpOnly/);
  });

  it('accepts a signed assertion: creates the user, a cookie session with amr fed listed in /me/sessions', async () => {
    const provider = await givenSamlProvider({ trustEmailVerified: true });
    const { acs, email } = await federate(provider);
    expect(acs.statusCode).toBe(200);
    expect(acs.body).toContain('You are signed in');
    const token = cookieValue(acs, 'gh_session');
    expect(token).toBeDefined();
    const cookie = `gh_session=${token}`;
    const me = await withCookie(auth, { cookie }, 'GET', '/me');
    expect(me.json()).toMatchObject({ user: { email, emailVerified: true } });
    const [session] = await sessionsOf(email);
    expect(session!.amr).toEqual(['fed']);
    const listed = await withCookie(auth, { cookie }, 'GET', '/me/sessions');
    expect(listed.json<{ id: string }[]>().map(({ id }) => id)).toContain(session!.id);
    const actions = await db.query<{ action: string }[]>(
      `SELECT a.action FROM audit_events a JOIN users u ON a.subject = 'user:' || u.id
       WHERE u.email = $1 AND a.action LIKE 'federation.%' ORDER BY a.at, a.id`,
      [email],
    );
    expect(actions.map(({ action }) => action)).toEqual([
      'federation.linked',
      'federation.signed_in',
    ]);
    expect(await refusals(provider.slug)).toEqual([]);
  });

  it('takes the email from an emailAddress NameID, and signs the same subject in to the same user', async () => {
    const provider = await givenSamlProvider();
    const email = uniqueEmail('nameid');
    const first = await federate(provider, { nameId: email, nameIdFormat: NAMEID_EMAIL });
    expect(first.acs.statusCode).toBe(200);
    const again = await federate(provider, { nameId: email, nameIdFormat: NAMEID_EMAIL });
    expect(again.acs.statusCode).toBe(200);
    expect(await db.query('SELECT id FROM users WHERE email = $1', [email])).toHaveLength(1);
    expect(await sessionsOf(email)).toHaveLength(2);
  });

  it("continues a third party's authorization request, then its code flow completes (amr fed)", async () => {
    const provider = await givenSamlProvider();
    const { client, clientSecret } = await auth.get(ClientService).create({
      name: `third-${randomUUID()}`,
      grantTypes: ['authorization_code'],
      scopes: ['openid', 'email'],
      redirectUris: [REDIRECT_URI],
      requireConsent: false,
    });
    const request = authorizationUrl({
      issuer: ISSUER,
      clientId: client.id,
      redirectUri: REDIRECT_URI,
      scope: 'openid email',
    });
    const authorize = await auth.inject({
      method: 'GET',
      url: `${request.url.pathname}${request.url.search}`,
    });
    const interaction = new URL(authorize.headers.location as string, ISSUER).searchParams.get(
      'interaction',
    )!;
    const signInPage = await auth.inject({
      method: 'GET',
      url: `/signin?interaction=${encodeURIComponent(interaction)}`,
    });
    expect(signInPage.body).toContain(`Continue with SAML ${provider.slug}`);

    const { acs } = await federate(provider, {}, `?interaction=${encodeURIComponent(interaction)}`);
    expect(acs.statusCode).toBe(303);
    expect(acs.headers.location).toBe(
      `/oauth/authorize/resume?interaction=${encodeURIComponent(interaction)}`,
    );
    const resumed = await auth.inject({
      method: 'GET',
      url: acs.headers.location as string,
      headers: { cookie: `gh_session=${cookieValue(acs, 'gh_session')}` },
    });
    expect(resumed.statusCode).toBe(303);
    const answer = new URL(resumed.headers.location as string);
    expect(`${answer.origin}${answer.pathname}`).toBe(REDIRECT_URI);
    expect(answer.searchParams.get('state')).toBe(request.state);
    const tokens = await auth.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: {
        grant_type: 'authorization_code',
        code: answer.searchParams.get('code'),
        redirect_uri: REDIRECT_URI,
        code_verifier: request.codeVerifier,
        client_id: client.id,
        client_secret: clientSecret,
      },
    });
    expect(tokens.statusCode).toBe(200);
    expect(decodeJwt(tokens.json<{ id_token: string }>().id_token)['amr']).toEqual(['fed']);
  });

  describe('refuses, audits the reason, starts no session', () => {
    async function expectRefused(
      provider: { slug: string },
      acs: LightMyRequestResponse,
      email: string,
    ): Promise<void> {
      expect(acs.statusCode).toBe(403);
      expect(acs.body).toContain('did not succeed');
      expect(cookieValue(acs, 'gh_session')).toBeUndefined();
      expect(await sessionsOf(email)).toEqual([]);
      expect(await db.query('SELECT id FROM users WHERE email = $1', [email])).toEqual([]);
      // No upstream detail reaches the browser.
      expect(acs.body).not.toMatch(/signature|audience|InResponseTo|expired/i);
      expect(provider.slug).toBeTruthy();
    }

    it('the same assertion posted again (replay)', async () => {
      const provider = await givenSamlProvider();
      const { acs, form, cookie, email } = await federate(provider);
      expect(acs.statusCode).toBe(200);
      const replay = await postAcs(provider.slug, form, cookie);
      expect(replay.statusCode).toBe(403);
      expect(cookieValue(replay, 'gh_session')).toBeUndefined();
      // Replayed into a new sign-in of this browser: the request it answers is not the new one.
      const fresh = await start(provider.slug);
      const into = await postAcs(
        provider.slug,
        { SAMLResponse: form.SAMLResponse, RelayState: fresh.relayState },
        fresh.cookie,
      );
      expect(into.statusCode).toBe(403);
      expect(await sessionsOf(email)).toHaveLength(1);
      expect(await refusals(provider.slug)).toEqual([
        { reason: 'state_invalid', check: null },
        { reason: 'assertion_invalid', check: 'in_response_to' },
      ]);
    });

    it('an assertion ID seen before, even under a state of its own (the replay cache)', async () => {
      const provider = await givenSamlProvider();
      const assertionId = `_replayed${randomUUID().replace(/-/g, '')}`;
      const first = await federate(provider, { assertionId });
      expect(first.acs.statusCode).toBe(200);
      const second = await federate(provider, { assertionId });
      await expectRefused(provider, second.acs, second.email);
      expect(await refusals(provider.slug)).toEqual([
        { reason: 'assertion_replayed', check: null },
      ]);
      const rows = await db.query(
        'SELECT expires_at FROM saml_assertion_ids WHERE provider_id = $1',
        [provider.id],
      );
      expect(rows).toHaveLength(1);
    });

    it('an unsigned assertion, and one signed only by the response around it', async () => {
      const provider = await givenSamlProvider();
      const unsigned = await federate(provider, { sign: 'none' });
      await expectRefused(provider, unsigned.acs, unsigned.email);
      const responseOnly = await federate(provider, { sign: 'response' });
      await expectRefused(provider, responseOnly.acs, responseOnly.email);
      expect(await refusals(provider.slug)).toEqual([
        { reason: 'assertion_invalid', check: 'signature' },
        { reason: 'assertion_invalid', check: 'signature' },
      ]);
    });

    it('an assertion signed by a key that is not the configured certificate', async () => {
      const provider = await givenSamlProvider();
      const { acs, email } = await federate(provider, { key: otherKey });
      await expectRefused(provider, acs, email);
      expect(await refusals(provider.slug)).toEqual([
        { reason: 'assertion_invalid', check: 'signature' },
      ]);
    });

    it('a wrong audience', async () => {
      const provider = await givenSamlProvider();
      const { acs, email } = await federate(provider, { audience: 'https://other-sp.example' });
      await expectRefused(provider, acs, email);
      expect(await refusals(provider.slug)).toEqual([
        { reason: 'assertion_invalid', check: 'audience' },
      ]);
    });

    it('an expired assertion (NotOnOrAfter in the past)', async () => {
      const provider = await givenSamlProvider();
      const { acs, email } = await federate(provider, {
        notBefore: new Date(Date.now() - 20 * 60_000),
        notOnOrAfter: new Date(Date.now() - 10 * 60_000),
      });
      await expectRefused(provider, acs, email);
      expect(await refusals(provider.slug)).toEqual([
        { reason: 'assertion_invalid', check: 'expired' },
      ]);
    });

    it('a wrong InResponseTo', async () => {
      const provider = await givenSamlProvider();
      const { acs, email } = await federate(provider, { inResponseTo: '_not-our-request' });
      await expectRefused(provider, acs, email);
      expect(await refusals(provider.slug)).toEqual([
        { reason: 'assertion_invalid', check: 'in_response_to' },
      ]);
    });

    it('a wrong recipient or destination', async () => {
      const provider = await givenSamlProvider();
      const recipient = await federate(provider, { recipient: 'https://other-sp.example/acs' });
      await expectRefused(provider, recipient.acs, recipient.email);
      const destination = await federate(provider, {
        destination: 'https://other-sp.example/acs',
      });
      await expectRefused(provider, destination.acs, destination.email);
      expect(await refusals(provider.slug)).toEqual([
        { reason: 'assertion_invalid', check: 'recipient' },
        { reason: 'assertion_invalid', check: 'destination' },
      ]);
    });

    it("a RelayState that is not this browser's state", async () => {
      const provider = await givenSamlProvider();
      const started = await start(provider.slug);
      const form = {
        SAMLResponse: samlResponse({
          key,
          idpEntityId: IDP_ENTITY_ID,
          acsUrl: provider.acsUrl,
          audience: provider.entityId,
          inResponseTo: started.requestId,
          nameId: `persistent-${randomUUID()}`,
          attributes: { email: uniqueEmail('saml') },
        }),
        RelayState: started.relayState,
      };
      // Posted into another browser (no state cookie): a login CSRF attempt.
      const response = await postAcs(provider.slug, form);
      expect(response.statusCode).toBe(403);
      expect(await refusals(provider.slug)).toEqual([{ reason: 'state_invalid', check: null }]);
    });

    it('sends the browser back to the client with access_denied when an authorization request is pending', async () => {
      const provider = await givenSamlProvider();
      const { client } = await auth.get(ClientService).create({
        name: `third-${randomUUID()}`,
        grantTypes: ['authorization_code'],
        scopes: ['openid'],
        redirectUris: [REDIRECT_URI],
      });
      const request = authorizationUrl({
        issuer: ISSUER,
        clientId: client.id,
        redirectUri: REDIRECT_URI,
        scope: 'openid',
      });
      const authorize = await auth.inject({
        method: 'GET',
        url: `${request.url.pathname}${request.url.search}`,
      });
      const interaction = new URL(authorize.headers.location as string, ISSUER).searchParams.get(
        'interaction',
      )!;
      const { acs } = await federate(
        provider,
        { sign: 'none' },
        `?interaction=${encodeURIComponent(interaction)}`,
      );
      expect(acs.statusCode).toBe(303);
      const answer = new URL(acs.headers.location as string);
      expect(`${answer.origin}${answer.pathname}`).toBe(REDIRECT_URI);
      expect(answer.searchParams.get('error')).toBe('access_denied');
      expect(answer.searchParams.get('state')).toBe(request.state);
      expect(cookieValue(acs, 'gh_session')).toBeUndefined();
    });
  });

  it('keeps an assertion ID until it expires, then forgets it (sweep)', async () => {
    const provider = await givenSamlProvider();
    const federation = auth.get(Database).federation;
    const hash = Buffer.alloc(32, 7);
    const now = new Date();
    const later = new Date(now.getTime() + 60_000);
    expect(await federation.acceptSamlAssertion(provider.id, hash, later, now)).toBe(true);
    expect(await federation.acceptSamlAssertion(provider.id, hash, later, now)).toBe(false);
    // Expired: accepted again (its time checks would refuse the assertion itself anyway).
    expect(await federation.acceptSamlAssertion(provider.id, hash, later, later)).toBe(true);
    await federation.deleteExpiredSamlAssertions(new Date(later.getTime() + 1));
    expect(
      await db.query('SELECT 1 FROM saml_assertion_ids WHERE provider_id = $1', [provider.id]),
    ).toEqual([]);
  });
});
