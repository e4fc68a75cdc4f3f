import { randomUUID } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LightMyRequestResponse } from 'fastify';
import {
  ClientService,
  IdentityProviderService,
  MfaService,
  type OidcProviderInput,
} from '@gatehouse/identity';
import { decodeJwt } from 'jose';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { authorizationUrl, hiddenMfaToken } from '../support/code-flow.js';
import { uniqueEmail } from '../support/factories.js';
import { type FakeOp, givenFakeOp, type IdTokenFlaw } from '../support/fake-op.js';
import {
  givenCookieSession,
  givenOperatorSession,
  givenUser,
  login,
  setCookies,
  TRUSTED_ORIGIN,
  withCookie,
} from '../support/http.js';
import { SoftAuthenticator } from '../support/soft-authenticator.js';
import { givenAdminApi, givenAuthApi } from '../support/test-app.js';
import { totpCode } from '../support/totp.js';
import {
  givenUpstreamOp,
  throughUpstream,
  type UpstreamAccount,
  type UpstreamOp,
} from '../support/upstream-op.js';

const ISSUER = 'http://localhost:3000';
const REDIRECT_URI = 'https://app.example.com/callback';

const cookieValue = (response: LightMyRequestResponse, name: string): string | undefined =>
  setCookies(response)
    .map((header) => new RegExp(`^${name}=([^;]*);`).exec(header)?.[1])
    .find((value) => value !== undefined && value !== '');

/**
 * Issue 20, OpenID Connect federation at the HTTP level: a real upstream (oidc-provider, in-process)
 * for the flows, and a hostile fake upstream (jose) for ID tokens that must be refused.
 */
describe('federation with an upstream OpenID Provider', () => {
  let auth: NestFastifyApplication;
  let admin: NestFastifyApplication;
  let db: DataSource;
  let upstream: UpstreamOp;
  let fake: FakeOp;
  /** Each provider of the file gets its own slug; the upstream knows their callbacks in advance. */
  const slugs = Array.from({ length: 32 }, () => `up-${randomUUID().slice(0, 8)}`);
  let nextSlug = 0;

  beforeAll(async () => {
    auth = await givenAuthApi();
    admin = await givenAdminApi();
    db = auth.get(DataSource);
    upstream = await givenUpstreamOp(slugs.map((slug) => `${ISSUER}/federation/${slug}/callback`));
    fake = await givenFakeOp();
  });
  afterAll(async () => {
    await upstream?.close();
    await fake?.close();
    await admin?.close();
    await auth?.close();
  });

  async function givenProvider(
    settings: Partial<OidcProviderInput> = {},
  ): Promise<{ id: string; slug: string }> {
    const slug = slugs[nextSlug++]!;
    const provider = await auth.get(IdentityProviderService).create(
      {
        slug,
        displayName: `Upstream ${slug}`,
        issuer: upstream.issuer,
        clientId: upstream.clientId,
        clientSecret: upstream.clientSecret,
        ...settings,
      },
      'system',
    );
    return { id: provider.id, slug };
  }

  const account = (overrides: Partial<UpstreamAccount> = {}): UpstreamAccount => ({
    sub: `upstream-${randomUUID()}`,
    email: uniqueEmail('fed'),
    email_verified: true,
    ...overrides,
  });

  /** start → the upstream (automatic login) → our callback; with the browser's cookies. */
  async function federate(
    slug: string,
    who: UpstreamAccount,
    options: {
      query?: string;
      session?: string;
      dropStateCookie?: boolean;
      app?: NestFastifyApplication;
    } = {},
  ): Promise<{ start: LightMyRequestResponse; callback: LightMyRequestResponse }> {
    const app = options.app ?? auth;
    upstream.signInAs(who);
    const start = await app.inject({
      method: 'GET',
      url: `/federation/${slug}/start${options.query ?? ''}`,
      headers: options.session ? { cookie: options.session } : {},
    });
    expect(start.statusCode).toBe(303);
    const state = cookieValue(start, 'gh_federation');
    expect(state).toBeDefined();
    const back = await throughUpstream(start.headers.location as string, upstream.issuer);
    expect(back.origin).toBe(ISSUER);
    const cookies = [
      ...(options.dropStateCookie ? [] : [`gh_federation=${state}`]),
      ...(options.session ? [options.session] : []),
    ];
    const callback = await app.inject({
      method: 'GET',
      url: `${back.pathname}${back.search}`,
      headers: cookies.length > 0 ? { cookie: cookies.join('; ') } : {},
    });
    return { start, callback };
  }

  const sessionCookie = (response: LightMyRequestResponse): string => {
    const token = cookieValue(response, 'gh_session');
    expect(token, 'a session cookie').toBeDefined();
    return `gh_session=${token}`;
  };

  async function refusals(slug: string): Promise<string[]> {
    const rows = await db.query<{ reason: string }[]>(
      `SELECT details->>'reason' AS reason FROM audit_events
       WHERE action = 'federation.refused' AND details->>'provider' = $1 ORDER BY at, id`,
      [slug],
    );
    return rows.map(({ reason }) => reason);
  }

  async function userIdOf(email: string): Promise<string | undefined> {
    const [row] = await db.query<{ id: string }[]>('SELECT id FROM users WHERE email = $1', [
      email,
    ]);
    return row?.id;
  }

  describe('first sign-in and the session it starts', () => {
    it('creates the user (no password), starts a cookie session with amr fed, listed in /me/sessions', async () => {
      const { slug } = await givenProvider({ trustEmailVerified: true });
      const who = account();
      const { start, callback } = await federate(slug, who);

      const upstreamUrl = new URL(start.headers.location as string);
      expect(upstreamUrl.origin).toBe(upstream.issuer);
      expect(upstreamUrl.searchParams.get('code_challenge_method')).toBe('S256');
      expect(upstreamUrl.searchParams.get('nonce')).toBeTruthy();
      expect(upstreamUrl.searchParams.get('redirect_uri')).toBe(
        `${ISSUER}/federation/${slug}/callback`,
      );

      expect(callback.statusCode).toBe(200);
      expect(callback.body).toContain('You are signed in');
      const cookie = sessionCookie(callback);
      const me = await withCookie(auth, { cookie }, 'GET', '/me');
      expect(me.statusCode).toBe(200);
      expect(me.json()).toMatchObject({ user: { email: who.email, emailVerified: true } });
      const sessions = await withCookie(auth, { cookie }, 'GET', '/me/sessions');
      expect(sessions.statusCode).toBe(200);
      const userId = await userIdOf(who.email!);
      const [row] = await db.query<{ id: string; amr: string[]; hash: string | null }[]>(
        `SELECT s.id, s.amr, u.password_hash AS hash FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.user_id = $1`,
        [userId],
      );
      expect(row).toMatchObject({ amr: ['fed'], hash: null });
      expect(sessions.json<{ id: string }[]>().map(({ id }) => id)).toContain(row!.id);

      const actions = await db.query<{ action: string }[]>(
        `SELECT action FROM audit_events WHERE subject = $1 AND action LIKE 'federation.%' ORDER BY at, id`,
        [`user:${userId}`],
      );
      expect(actions.map(({ action }) => action)).toEqual([
        'federation.linked',
        'federation.signed_in',
      ]);
    });

    it('signs the same upstream account in to the same user the next time', async () => {
      const { slug } = await givenProvider();
      const who = account();
      await federate(slug, who);
      const again = await federate(slug, who);
      expect(again.callback.statusCode).toBe(200);
      const users = await db.query('SELECT id FROM users WHERE email = $1', [who.email]);
      expect(users).toHaveLength(1);
    });

    it('answers a passwordless user changing the password like a wrong current password (400), nothing changed', async () => {
      const { slug } = await givenProvider();
      const who = account();
      const cookie = sessionCookie((await federate(slug, who)).callback);
      const response = await withCookie(auth, { cookie }, 'POST', '/me/password', {
        currentPassword: 'whatever it might be',
        newPassword: 'a brand new passphrase for me',
      });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ error: 'VALIDATION_FAILED' });
      const [row] = await db.query<{ hash: string | null }[]>(
        'SELECT password_hash AS hash FROM users WHERE email = $1',
        [who.email],
      );
      expect(row!.hash).toBeNull();
    });

    it('ends on return_to when given (a path of our own origin only)', async () => {
      const { slug } = await givenProvider();
      const own = await federate(slug, account(), { query: '?return_to=%2Fme%2Fsessions%3Fx%3D1' });
      expect(own.callback.statusCode).toBe(303);
      expect(own.callback.headers.location).toBe('/me/sessions?x=1');
      for (const elsewhere of ['https://evil.example/x', '//evil.example/x', '/\\evil.example']) {
        const { callback } = await federate(slug, account(), {
          query: `?return_to=${encodeURIComponent(elsewhere)}`,
        });
        expect(callback.statusCode, elsewhere).toBe(200);
        expect(callback.body).toContain('You are signed in');
      }
    });

    it('refuses a first sign-in from an email domain the provider does not allow', async () => {
      const { slug } = await givenProvider({ allowedEmailDomains: ['corp.example'] });
      const outsider = account();
      expect((await federate(slug, outsider)).callback.statusCode).toBe(403);
      expect(await userIdOf(outsider.email!)).toBeUndefined();
      const insider = account({ email: `someone-${randomUUID()}@corp.example` });
      expect((await federate(slug, insider)).callback.statusCode).toBe(200);
      expect(await refusals(slug)).toEqual(['email_domain_not_allowed']);
    });

    it('never signs a passwordless user in with a password, with the same answer as a wrong one', async () => {
      const { slug } = await givenProvider();
      const who = account();
      await federate(slug, who);
      const response = await login(auth, { email: who.email!, password: 'any password at all' });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({ error: 'INVALID_CREDENTIALS' });
    });

    it("continues a third party's authorization request: back to it, then the code flow completes", async () => {
      const { slug } = await givenProvider();
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
      expect(authorize.statusCode).toBe(303);
      const interaction = new URL(authorize.headers.location as string, ISSUER).searchParams.get(
        'interaction',
      )!;
      const signInPage = await auth.inject({
        method: 'GET',
        url: `/signin?interaction=${encodeURIComponent(interaction)}`,
      });
      const link = `/federation/${slug}/start?interaction=${interaction}`;
      expect(signInPage.body).toContain(`href="${link}"`);
      expect(signInPage.body).toContain(`Continue with Upstream ${slug}`);

      const { callback } = await federate(slug, account(), {
        query: `?interaction=${encodeURIComponent(interaction)}`,
      });
      expect(callback.statusCode).toBe(303);
      expect(callback.headers.location).toBe(
        `/oauth/authorize/resume?interaction=${encodeURIComponent(interaction)}`,
      );
      const resumed = await auth.inject({
        method: 'GET',
        url: callback.headers.location as string,
        headers: { cookie: sessionCookie(callback) },
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
      const idToken = decodeJwt(tokens.json<{ id_token: string }>().id_token);
      expect(idToken['amr']).toEqual(['fed']);
    });

    it("asks for the user's own second factor after the upstream; the session's amr says fed and mfa", async () => {
      const { slug } = await givenProvider({ trustEmailVerified: true, linking: 'verified-email' });
      const user = await givenUser(auth);
      const mfa = auth.get(MfaService);
      const enrolment = await mfa.enrolTotp({ id: user.id, email: user.email });
      const [recoveryCode] = await mfa.confirmTotp(
        user.id,
        enrolment.id,
        totpCode(enrolment.secret, Date.now()),
        null,
      );
      const { callback } = await federate(slug, account({ email: user.email }));
      expect(callback.statusCode).toBe(200);
      expect(callback.body).toContain('Enter your code');
      expect(cookieValue(callback, 'gh_session')).toBeUndefined();
      const mfaToken = hiddenMfaToken(callback.body)!;

      const done = await auth.inject({
        method: 'POST',
        url: '/signin/mfa',
        headers: { origin: ISSUER },
        payload: { mfa_token: mfaToken, recovery_code: recoveryCode },
      });
      expect(done.statusCode).toBe(200);
      expect(done.body).toContain('You are signed in');
      const me = await withCookie(auth, { cookie: sessionCookie(done) }, 'GET', '/me');
      expect(me.json()).toMatchObject({ session: { amr: ['fed', 'mfa'], identityProvider: slug } });
      const mine = await withCookie(auth, { cookie: sessionCookie(done) }, 'GET', '/me/sessions');
      expect(mine.json()).toEqual([
        expect.objectContaining({ amr: ['fed', 'mfa'], identityProvider: slug, current: true }),
      ]);
    });

    it('refuses a disabled user, audited, without a session', async () => {
      const { slug } = await givenProvider();
      const who = account();
      await federate(slug, who);
      await db.query('UPDATE users SET disabled_at = now() WHERE email = $1', [who.email]);
      const { callback } = await federate(slug, who);
      expect(callback.statusCode).toBe(403);
      expect(cookieValue(callback, 'gh_session')).toBeUndefined();
      expect(await refusals(slug)).toEqual(['user_disabled']);
    });

    it('ends a federated session when an operator revokes it through admin-api, like any other', async () => {
      const { slug } = await givenProvider();
      const who = account();
      const { callback } = await federate(slug, who);
      const cookie = sessionCookie(callback);
      const [session] = await db.query<{ id: string }[]>(
        'SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = $1',
        [who.email],
      );
      const operator = await givenOperatorSession(auth);
      // Listed for operators like any session, with how and through which provider it signed in.
      const listed = await admin.inject({
        method: 'GET',
        url: `/admin/sessions?userId=${encodeURIComponent((await userIdOf(who.email!))!)}`,
        headers: { cookie: operator.cookie },
      });
      expect(listed.json<{ items: unknown[] }>().items).toEqual([
        expect.objectContaining({ id: session!.id, amr: ['fed'], identityProvider: slug }),
      ]);
      const revoked = await admin.inject({
        method: 'DELETE',
        url: `/admin/sessions/${session!.id}`,
        headers: { cookie: operator.cookie, origin: TRUSTED_ORIGIN },
      });
      expect(revoked.statusCode).toBe(204);
      const me = await withCookie(auth, { cookie }, 'GET', '/me');
      expect(me.statusCode).toBe(401);
      expect(me.json()).toMatchObject({ error: 'SESSION_REVOKED' });
    });
  });

  describe('refusals: audited, no session, nothing of the upstream shown', () => {
    it('refuses a callback whose state is not the one this browser was given', async () => {
      const { slug } = await givenProvider();
      const { callback } = await federate(slug, account(), { dropStateCookie: true });
      expect(callback.statusCode).toBe(403);
      expect(callback.body).toContain('did not succeed');
      expect(cookieValue(callback, 'gh_session')).toBeUndefined();

      const forged = await auth.inject({
        method: 'GET',
        url: `/federation/${slug}/callback?code=abc&state=forged`,
        headers: { cookie: 'gh_federation=another' },
      });
      expect(forged.statusCode).toBe(403);
      expect(await refusals(slug)).toEqual(['state_invalid', 'state_invalid']);
    });

    it('accepts a callback once: a replay finds its state spent', async () => {
      const { slug } = await givenProvider();
      upstream.signInAs(account());
      const start = await auth.inject({ method: 'GET', url: `/federation/${slug}/start` });
      const state = cookieValue(start, 'gh_federation');
      const back = await throughUpstream(start.headers.location as string, upstream.issuer);
      const call = () =>
        auth.inject({
          method: 'GET',
          url: `${back.pathname}${back.search}`,
          headers: { cookie: `gh_federation=${state}` },
        });
      expect((await call()).statusCode).toBe(200);
      const replay = await call();
      expect(replay.statusCode).toBe(403);
      expect(cookieValue(replay, 'gh_session')).toBeUndefined();
      expect(await refusals(slug)).toEqual(['state_invalid']);
    });

    it('refuses an upstream error answer (the user declined there) without echoing it', async () => {
      const { slug } = await givenProvider();
      const start = await auth.inject({ method: 'GET', url: `/federation/${slug}/start` });
      const state = new URL(start.headers.location as string).searchParams.get('state')!;
      const callback = await auth.inject({
        method: 'GET',
        url: `/federation/${slug}/callback?error=access_denied&error_description=%3Cscript%3Esecret&state=${state}&iss=${encodeURIComponent(upstream.issuer)}`,
        headers: { cookie: `gh_federation=${cookieValue(start, 'gh_federation')}` },
      });
      expect(callback.statusCode).toBe(403);
      expect(callback.body).not.toContain('secret');
      expect(callback.body).not.toContain('script');
      expect(await refusals(slug)).toEqual(['upstream_error']);
    });

    describe('ID tokens from a hostile upstream', () => {
      async function withFake(flaw: IdTokenFlaw) {
        const slug = `fake-${randomUUID().slice(0, 8)}`;
        await auth
          .get(IdentityProviderService)
          .create(
            { slug, displayName: 'Fake', issuer: fake.issuer, clientId: fake.clientId },
            'system',
          );
        const start = await auth.inject({ method: 'GET', url: `/federation/${slug}/start` });
        expect(start.statusCode).toBe(303);
        const redirect = new URL(start.headers.location as string);
        fake.expectNonce(redirect.searchParams.get('nonce')!);
        const email = uniqueEmail('hostile');
        fake.nextIdToken(flaw, { sub: randomUUID(), email, email_verified: true });
        const callback = await auth.inject({
          method: 'GET',
          url: `/federation/${slug}/callback?code=made-up&state=${redirect.searchParams.get('state')}`,
          headers: { cookie: `gh_federation=${cookieValue(start, 'gh_federation')}` },
        });
        return { slug, email, callback };
      }

      it('signs in with a valid one (the control)', async () => {
        const { callback, email } = await withFake('valid');
        expect(callback.statusCode).toBe(200);
        expect(await userIdOf(email)).toBeDefined();
      });

      it.each<IdTokenFlaw>(['wrong-nonce', 'wrong-audience', 'expired', 'unknown-key'])(
        'refuses one with %s: audited, no session, no user',
        async (flaw) => {
          const { slug, email, callback } = await withFake(flaw);
          expect(callback.statusCode).toBe(403);
          expect(callback.body).toContain('did not succeed');
          expect(cookieValue(callback, 'gh_session')).toBeUndefined();
          expect(await userIdOf(email)).toBeUndefined();
          expect(await refusals(slug)).toEqual(['token_invalid']);
        },
      );

      it('sends the browser back to the client with access_denied when an authorization request is pending', async () => {
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
        const slug = `fake-${randomUUID().slice(0, 8)}`;
        await auth
          .get(IdentityProviderService)
          .create(
            { slug, displayName: 'Fake', issuer: fake.issuer, clientId: fake.clientId },
            'system',
          );
        const start = await auth.inject({
          method: 'GET',
          url: `/federation/${slug}/start?interaction=${encodeURIComponent(interaction)}`,
        });
        const redirect = new URL(start.headers.location as string);
        fake.expectNonce(redirect.searchParams.get('nonce')!);
        fake.nextIdToken('expired', { sub: randomUUID() });
        const callback = await auth.inject({
          method: 'GET',
          url: `/federation/${slug}/callback?code=made-up&state=${redirect.searchParams.get('state')}`,
          headers: { cookie: `gh_federation=${cookieValue(start, 'gh_federation')}` },
        });
        expect(callback.statusCode).toBe(303);
        const answer = new URL(callback.headers.location as string);
        expect(`${answer.origin}${answer.pathname}`).toBe(REDIRECT_URI);
        expect(answer.searchParams.get('error')).toBe('access_denied');
        expect(answer.searchParams.get('state')).toBe(request.state);
        expect(cookieValue(callback, 'gh_session')).toBeUndefined();
      });
    });

    it('shows our error page (502) and audits when the upstream cannot be discovered', async () => {
      const slug = `down-${randomUUID().slice(0, 8)}`;
      await auth
        .get(IdentityProviderService)
        .create(
          { slug, displayName: 'Down', issuer: 'http://127.0.0.1:9', clientId: 'x' },
          'system',
        );
      const start = await auth.inject({ method: 'GET', url: `/federation/${slug}/start` });
      expect(start.statusCode).toBe(502);
      expect(start.body).toContain('not available');
      expect(await refusals(slug)).toEqual(['upstream_unavailable']);
    });

    it('answers 404 for an unknown or disabled provider', async () => {
      expect(
        (await auth.inject({ method: 'GET', url: '/federation/nobody/start' })).statusCode,
      ).toBe(404);
      const { id, slug } = await givenProvider();
      await auth.get(IdentityProviderService).update(id, { enabled: false }, 'system');
      expect(
        (await auth.inject({ method: 'GET', url: `/federation/${slug}/start` })).statusCode,
      ).toBe(404);
    });
  });

  describe('linking', () => {
    it('never links an unverified upstream email to an existing account', async () => {
      const { slug } = await givenProvider({ trustEmailVerified: true, linking: 'verified-email' });
      const existing = await givenUser(auth);
      const { callback } = await federate(
        slug,
        account({ email: existing.email, email_verified: false }),
      );
      expect(callback.statusCode).toBe(403);
      expect(cookieValue(callback, 'gh_session')).toBeUndefined();
      expect(await refusals(slug)).toEqual(['account_exists_not_linkable']);
      const links = await db.query('SELECT 1 FROM federated_identities WHERE user_id = $1', [
        existing.id,
      ]);
      expect(links).toEqual([]);
    });

    it('links a verified email only when the provider trusts it and links by email', async () => {
      const untrusted = await givenProvider({
        trustEmailVerified: false,
        linking: 'verified-email',
      });
      const noLinking = await givenProvider({ trustEmailVerified: true, linking: 'none' });
      const trusted = await givenProvider({ trustEmailVerified: true, linking: 'verified-email' });
      const existing = await givenUser(auth);
      const verified = { email: existing.email, email_verified: true };

      expect((await federate(untrusted.slug, account(verified))).callback.statusCode).toBe(403);
      expect((await federate(noLinking.slug, account(verified))).callback.statusCode).toBe(403);
      const { callback } = await federate(trusted.slug, account(verified));
      expect(callback.statusCode).toBe(200);
      const me = await withCookie(auth, { cookie: sessionCookie(callback) }, 'GET', '/me');
      expect(me.json()).toMatchObject({ user: { id: existing.id } });
      const identities = await withCookie(
        auth,
        { cookie: sessionCookie(callback) },
        'GET',
        '/me/identities',
      );
      expect(identities.json()).toEqual([
        expect.objectContaining({
          provider: { slug: trusted.slug, displayName: `Upstream ${trusted.slug}` },
          email: existing.email,
        }),
      ]);
    });

    it('refuses a first sign-in when the provider only signs existing accounts in', async () => {
      const { slug } = await givenProvider({ provisioning: 'existing-only' });
      const who = account();
      expect((await federate(slug, who)).callback.statusCode).toBe(403);
      expect(await userIdOf(who.email!)).toBeUndefined();
      expect(await refusals(slug)).toEqual(['provisioning_disabled']);
    });

    it('links a second provider while signed in, and refuses to unlink the last way to sign in (409)', async () => {
      const first = await givenProvider();
      const second = await givenProvider();
      const who = account();
      const cookie = sessionCookie((await federate(first.slug, who)).callback);

      const linked = await federate(second.slug, account(), { query: '?link=1', session: cookie });
      expect(linked.callback.statusCode).toBe(200);
      expect(linked.callback.body).toContain('Account linked');
      const identities = (await withCookie(auth, { cookie }, 'GET', '/me/identities')).json<
        { id: string; provider: { slug: string } }[]
      >();
      expect(identities.map(({ provider }) => provider.slug)).toEqual([first.slug, second.slug]);

      const removed = await withCookie(
        auth,
        { cookie },
        'DELETE',
        `/me/identities/${identities[0]!.id}`,
      );
      expect(removed.statusCode).toBe(204);
      const last = await withCookie(
        auth,
        { cookie },
        'DELETE',
        `/me/identities/${identities[1]!.id}`,
      );
      expect(last.statusCode).toBe(409);
      expect(last.json()).toMatchObject({ error: 'LAST_SIGN_IN_METHOD' });
      const unknown = await withCookie(
        auth,
        { cookie },
        'DELETE',
        `/me/identities/${randomUUID()}`,
      );
      expect(unknown.statusCode).toBe(404);
    });

    it('lets a passwordless user with a passkey unlink their only provider (the passkey signs in)', async () => {
      const { slug } = await givenProvider();
      const cookie = sessionCookie((await federate(slug, account())).callback);
      const authenticator = new SoftAuthenticator(ISSUER);
      const options = await withCookie(auth, { cookie }, 'POST', '/me/mfa/passkeys/options');
      expect(options.statusCode).toBe(200);
      const registered = await withCookie(auth, { cookie }, 'POST', '/me/mfa/passkeys', {
        response: authenticator.register(options.json()),
      });
      expect(registered.statusCode).toBe(201);

      const [identity] = (await withCookie(auth, { cookie }, 'GET', '/me/identities')).json<
        { id: string }[]
      >();
      const removed = await withCookie(
        auth,
        { cookie },
        'DELETE',
        `/me/identities/${identity!.id}`,
      );
      expect(removed.statusCode).toBe(204);
    });

    it('with REQUIRE_VERIFIED_EMAIL, an unverified upstream address gets the confirm-your-email page, not a session', async () => {
      const strict = await givenAuthApi({ REQUIRE_VERIFIED_EMAIL: 'true' });
      try {
        const { slug } = await givenProvider({ trustEmailVerified: false });
        const who = account({ email_verified: false });
        const { callback } = await federate(slug, who, { app: strict });
        expect(callback.statusCode).toBe(403);
        expect(callback.body).toContain('Confirm your email address');
        expect(callback.body).toContain('action="/verify-email/resend"');
        expect(cookieValue(callback, 'gh_session')).toBeUndefined();
        expect(await refusals(slug)).toEqual(['email_not_verified']);

        // The user and the link exist: once the address is verified, the provider signs them in.
        const userId = await userIdOf(who.email!);
        expect(userId).toBeDefined();
        await db.query('UPDATE users SET email_verified_at = now() WHERE id = $1', [userId]);
        const again = await federate(slug, who, { app: strict });
        expect(again.callback.statusCode).toBe(200);
        expect(cookieValue(again.callback, 'gh_session')).toBeDefined();
      } finally {
        await strict.close();
      }
    });

    it('lets a user with a password unlink their only provider', async () => {
      const { slug } = await givenProvider();
      const user = await givenUser(auth);
      const session = await givenCookieSession(auth, user);
      await federate(slug, account(), { query: '?link=1', session: session.cookie });
      const [identity] = (await withCookie(auth, session, 'GET', '/me/identities')).json<
        { id: string }[]
      >();
      expect(
        (await withCookie(auth, session, 'DELETE', `/me/identities/${identity!.id}`)).statusCode,
      ).toBe(204);
    });

    it('links only in the session that asked: a callback in another browser is refused', async () => {
      const { slug } = await givenProvider();
      const user = await givenUser(auth);
      const session = await givenCookieSession(auth, user);
      // Without a session, link=1 does not even start.
      const started = await auth.inject({ method: 'GET', url: `/federation/${slug}/start?link=1` });
      expect(started.statusCode).toBe(401);

      upstream.signInAs(account());
      const start = await auth.inject({
        method: 'GET',
        url: `/federation/${slug}/start?link=1`,
        headers: { cookie: session.cookie },
      });
      const back = await throughUpstream(start.headers.location as string, upstream.issuer);
      const elsewhere = await auth.inject({
        method: 'GET',
        url: `${back.pathname}${back.search}`,
        headers: { cookie: `gh_federation=${cookieValue(start, 'gh_federation')}` },
      });
      expect(elsewhere.statusCode).toBe(403);
      expect(await refusals(slug)).toContain('link_session_invalid');
      const links = await db.query('SELECT 1 FROM federated_identities WHERE user_id = $1', [
        user.id,
      ]);
      expect(links).toEqual([]);
    });
  });
});
