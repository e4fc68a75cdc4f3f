import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import type { LightMyRequestResponse } from 'fastify';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  type CookieSession,
  givenCookieSession,
  givenUser,
  login,
  setCookies,
  type TestUser,
  TRUSTED_ORIGIN,
} from '../support/http.js';
import { SoftAuthenticator } from '../support/soft-authenticator.js';
import { givenAuthApi } from '../support/test-app.js';

/** The issuer of `givenAuthApi()`: its origin is the only one a ceremony may come from. */
const ISSUER_ORIGIN = 'http://localhost:3000';
const FOREIGN_ORIGIN = 'http://localhost:4000';

const PASSKEY_INVALID = {
  statusCode: 401,
  error: 'PASSKEY_INVALID',
  message: 'The passkey could not be verified.',
};

interface Factor {
  readonly id: string;
  readonly kind: string;
  readonly name?: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly backedUp?: boolean;
}

interface Registered {
  readonly passkey: Factor;
  readonly recoveryCodes: string[];
}

interface MfaRequired {
  readonly mfaRequired: true;
  readonly methods: string[];
  readonly mfaToken: string;
}

/**
 * Passkeys through the API, with a software authenticator (real ES256 keys, real WebAuthn data):
 * adding, listing, renaming and removing; passwordless sign-in; a passkey as the second step after a
 * password; and every refusal of a response that does not verify (tampered, foreign origin, replayed,
 * counter gone backwards, unknown credential, disabled account), all with the same answer.
 */
describe('passkeys (WebAuthn) through the API', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenAuthApi({ ISSUER: ISSUER_ORIGIN });
  });
  afterAll(() => app?.close());

  function call(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    payload?: object,
    session?: CookieSession,
  ): Promise<LightMyRequestResponse> {
    return app.inject({
      method,
      url,
      headers: { origin: TRUSTED_ORIGIN, ...(session ? { cookie: session.cookie } : {}) },
      ...(payload ? { payload } : {}),
    });
  }

  async function registrationOptions(
    session: CookieSession,
  ): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const response = await call('POST', '/me/mfa/passkeys/options', undefined, session);
    expect(response.statusCode).toBe(200);
    return response.json();
  }

  /** A user with a passkey on `authenticator`, added through the routes while signed in. */
  async function givenPasskey(
    authenticator = new SoftAuthenticator(ISSUER_ORIGIN),
    name?: string,
  ): Promise<{
    user: TestUser;
    session: CookieSession;
    authenticator: SoftAuthenticator;
    registered: Registered;
  }> {
    const user = await givenUser(app);
    const session = await givenCookieSession(app, user);
    const options = await registrationOptions(session);
    const response = await call(
      'POST',
      '/me/mfa/passkeys',
      { ...(name ? { name } : {}), response: authenticator.register(options) },
      session,
    );
    expect(response.statusCode).toBe(201);
    return { user, session, authenticator, registered: response.json<Registered>() };
  }

  async function signInOptions(): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const response = await call('POST', '/auth/passkey/options');
    expect(response.statusCode).toBe(200);
    return response.json();
  }

  function passkeySignIn(assertion: AuthenticationResponseJSON): Promise<LightMyRequestResponse> {
    return call('POST', '/auth/passkey', { response: assertion });
  }

  function expectRefused(response: LightMyRequestResponse): void {
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual(PASSKEY_INVALID);
    expect(setCookies(response)).toEqual([]);
  }

  describe('adding a passkey', () => {
    it('answers creation options for the issuer host: discoverable, no attestation', async () => {
      const user = await givenUser(app);
      const options = await registrationOptions(await givenCookieSession(app, user));
      expect(options.rp).toEqual({ id: 'localhost', name: 'Gatehouse' });
      expect(options.user.name).toBe(user.email);
      expect(Buffer.from(options.user.id, 'base64url').toString('hex')).toBe(
        user.id.replace(/-/g, ''),
      );
      expect(options.authenticatorSelection).toMatchObject({
        residentKey: 'required',
        requireResidentKey: true,
      });
      expect(options.attestation).toBe('none');
      expect(options.excludeCredentials).toEqual([]);
      expect(options.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    it('stores it, lists it beside other factors, and gives recovery codes with the first factor only', async () => {
      const { session, authenticator, registered } = await givenPasskey(undefined, 'Laptop');
      expect(registered.recoveryCodes).toHaveLength(10);
      expect(registered.passkey).toMatchObject({
        kind: 'passkey',
        name: 'Laptop',
        backedUp: false,
        lastUsedAt: null,
      });

      const second = new SoftAuthenticator(ISSUER_ORIGIN, true);
      const options = await registrationOptions(session);
      // The passkey already there is excluded: an authenticator holding it makes no second one.
      expect(options.excludeCredentials).toEqual([
        { id: authenticator.credentialIds()[0], type: 'public-key', transports: ['internal'] },
      ]);
      const added = await call(
        'POST',
        '/me/mfa/passkeys',
        { response: second.register(options) },
        session,
      );
      expect(added.statusCode).toBe(201);
      expect(added.json<Registered>()).toMatchObject({
        passkey: { name: 'Passkey', backedUp: true },
        recoveryCodes: [],
      });

      const listed = await call('GET', '/me/mfa', undefined, session);
      expect(listed.json<Factor[]>()).toEqual([
        expect.objectContaining({ id: registered.passkey.id, kind: 'passkey', name: 'Laptop' }),
        expect.objectContaining({ kind: 'passkey', name: 'Passkey', backedUp: true }),
      ]);
    });

    it('refuses a response from another origin, a replayed one, and one for another challenge', async () => {
      const user = await givenUser(app);
      const session = await givenCookieSession(app, user);
      const authenticator = new SoftAuthenticator(ISSUER_ORIGIN);

      const foreign = authenticator.register(await registrationOptions(session), {
        origin: FOREIGN_ORIGIN,
      });
      const refusedForeign = await call('POST', '/me/mfa/passkeys', { response: foreign }, session);
      expect(refusedForeign.statusCode).toBe(400);
      expect(refusedForeign.json()).toMatchObject({ error: 'PASSKEY_INVALID' });

      const good = authenticator.register(await registrationOptions(session));
      expect((await call('POST', '/me/mfa/passkeys', { response: good }, session)).statusCode).toBe(
        201,
      );
      const replayed = await call('POST', '/me/mfa/passkeys', { response: good }, session);
      expect(replayed.statusCode).toBe(400);
      expect(replayed.json()).toMatchObject({ error: 'PASSKEY_INVALID' });

      // A challenge issued to another user does not register a passkey for this one.
      const other = await givenCookieSession(app, await givenUser(app));
      const stolen = authenticator.register(await registrationOptions(other));
      const refusedStolen = await call('POST', '/me/mfa/passkeys', { response: stolen }, session);
      expect(refusedStolen.statusCode).toBe(400);
    });

    it('answers 400 with field messages for a malformed body, 401 without a session', async () => {
      const session = await givenCookieSession(app, await givenUser(app));
      const response = await call(
        'POST',
        '/me/mfa/passkeys',
        { name: 'x'.repeat(65), response: { id: 'not base64url!', type: 'other' } },
        session,
      );
      expect(response.statusCode).toBe(400);
      const fields = response
        .json<{ details: { field: string }[] }>()
        .details.map(({ field }) => field);
      expect(fields).toEqual(
        expect.arrayContaining(['name', 'response.id', 'response.type', 'response.rawId']),
      );

      const anonymous = await call('POST', '/me/mfa/passkeys/options');
      expect(anonymous.statusCode).toBe(401);
      expect(anonymous.headers['www-authenticate']).toBeDefined();
    });

    it('renames a passkey of the caller, not of anyone else', async () => {
      const { session, registered } = await givenPasskey();
      const renamed = await call(
        'PATCH',
        `/me/mfa/passkeys/${registered.passkey.id}`,
        { name: ' Phone ' },
        session,
      );
      expect(renamed.statusCode).toBe(200);
      expect(renamed.json()).toMatchObject({ id: registered.passkey.id, name: 'Phone' });

      const stranger = await givenCookieSession(app, await givenUser(app));
      const refused = await call(
        'PATCH',
        `/me/mfa/passkeys/${registered.passkey.id}`,
        { name: 'Mine' },
        stranger,
      );
      expect(refused.statusCode).toBe(404);
      expect(refused.json()).toMatchObject({ error: 'MFA_FACTOR_NOT_FOUND' });

      const blank = await call(
        'PATCH',
        `/me/mfa/passkeys/${registered.passkey.id}`,
        { name: '   ' },
        session,
      );
      expect(blank.statusCode).toBe(400);
    });

    it('is removed like any factor (with the password); the last one takes the second step away', async () => {
      const { user, session, registered } = await givenPasskey();
      const removed = await call(
        'DELETE',
        `/me/mfa/${registered.passkey.id}`,
        { password: user.password },
        session,
      );
      expect(removed.statusCode).toBe(204);
      expect((await call('GET', '/me/mfa', undefined, session)).json()).toEqual([]);
      const signedIn = await login(app, user);
      expect(signedIn.json()).toHaveProperty('session');
    });
  });

  describe('passwordless sign-in', () => {
    it('answers options naming no credential and requiring user verification', async () => {
      const options = await signInOptions();
      expect(options).toMatchObject({ rpId: 'localhost', userVerification: 'required' });
      expect(options.allowCredentials ?? []).toEqual([]);
    });

    it('starts a cookie session like a password sign-in, with amr hwk, user, mfa', async () => {
      const { user, authenticator, session: first } = await givenPasskey();
      const response = await app.inject({
        method: 'POST',
        url: '/auth/passkey',
        headers: { origin: TRUSTED_ORIGIN, cookie: first.cookie },
        payload: { response: authenticator.authenticate(await signInOptions()) },
      });
      expect(response.statusCode).toBe(200);
      const body = response.json<{
        user: { id: string };
        session: { id: string; amr: string[] };
      }>();
      expect(body.user.id).toBe(user.id);
      expect(body.session.amr).toEqual(['hwk', 'user', 'mfa']);
      const [cookie] = setCookies(response);
      expect(cookie).toMatch(/^gh_session=[^;]+;.*HttpOnly/);

      // The cookie sent along was replaced (fixation), the new one works and is listed.
      const session = { cookie: cookie!.split(';')[0]! } as CookieSession;
      expect((await call('GET', '/me', undefined, first)).statusCode).toBe(401);
      const listed = await call('GET', '/me/sessions', undefined, session);
      expect(listed.json<{ id: string; current: boolean; amr: string[] }[]>()).toEqual([
        expect.objectContaining({
          id: body.session.id,
          current: true,
          amr: ['hwk', 'user', 'mfa'],
        }),
      ]);
      const factors = await call('GET', '/me/mfa', undefined, session);
      expect(factors.json<Factor[]>()[0]!.lastUsedAt).not.toBeNull();
    });

    it('says swk for a synced passkey', async () => {
      const { authenticator } = await givenPasskey(new SoftAuthenticator(ISSUER_ORIGIN, true));
      const response = await passkeySignIn(authenticator.authenticate(await signInOptions()));
      expect(response.json<{ session: { amr: string[] } }>().session.amr).toEqual([
        'swk',
        'user',
        'mfa',
      ]);
    });

    it('refuses, alike and without a cookie: tampered signature or client data, foreign origin, no user verification', async () => {
      const { authenticator } = await givenPasskey();

      const flipped = authenticator.authenticate(await signInOptions());
      const signature = Buffer.from(flipped.response.signature, 'base64url');
      signature[signature.length - 1]! ^= 0x01;
      flipped.response.signature = signature.toString('base64url');
      expectRefused(await passkeySignIn(flipped));

      const edited = authenticator.authenticate(await signInOptions());
      const clientData = JSON.parse(
        Buffer.from(edited.response.clientDataJSON, 'base64url').toString(),
      ) as { origin: string };
      clientData.origin = FOREIGN_ORIGIN;
      edited.response.clientDataJSON = Buffer.from(JSON.stringify(clientData)).toString(
        'base64url',
      );
      expectRefused(await passkeySignIn(edited));

      // Signed over clientDataJSON naming the other origin: a phishing site's ceremony.
      expectRefused(
        await passkeySignIn(
          authenticator.authenticate(await signInOptions(), { origin: FOREIGN_ORIGIN }),
        ),
      );
      expectRefused(
        await passkeySignIn(
          authenticator.authenticate(await signInOptions(), { userVerified: false }),
        ),
      );

      // None of it cost the passkey anything: a good assertion still signs in.
      const good = await passkeySignIn(authenticator.authenticate(await signInOptions()));
      expect(good.statusCode).toBe(200);
    });

    it('refuses a replayed assertion, a counter gone backwards, an unknown credential and a disabled account', async () => {
      const { user, authenticator } = await givenPasskey();

      const once = authenticator.authenticate(await signInOptions());
      expect((await passkeySignIn(once)).statusCode).toBe(200);
      expectRefused(await passkeySignIn(once));

      // The counter is 1 now: a clone that says 1 again is refused.
      expectRefused(
        await passkeySignIn(authenticator.authenticate(await signInOptions(), { signCount: 1 })),
      );

      const stranger = new SoftAuthenticator(ISSUER_ORIGIN);
      stranger.register({
        ...(await registrationOptions(await givenCookieSession(app, await givenUser(app)))),
      });
      expectRefused(await passkeySignIn(stranger.authenticate(await signInOptions())));

      await app
        .get(DataSource)
        .query('UPDATE users SET disabled_at = now() WHERE id = $1', [user.id]);
      expectRefused(await passkeySignIn(authenticator.authenticate(await signInOptions())));
    });

    it('refuses a sign-in without a trusted Origin and a malformed body', async () => {
      const response = await app.inject({
        method: 'POST',
        url: '/auth/passkey',
        headers: { origin: FOREIGN_ORIGIN },
        payload: { response: {} },
      });
      expect(response.statusCode).toBe(403);
      const malformed = await call('POST', '/auth/passkey', { response: { id: 'x' } });
      expect(malformed.statusCode).toBe(400);
      expect(malformed.json()).toMatchObject({ error: 'VALIDATION_FAILED' });
    });
  });

  describe('as the second step after a password', () => {
    async function passwordStep(user: TestUser): Promise<MfaRequired> {
      const response = await login(app, user);
      expect(response.statusCode).toBe(200);
      expect(setCookies(response)).toEqual([]);
      return response.json<MfaRequired>();
    }

    async function secondStepOptions(mfaToken: string): Promise<LightMyRequestResponse> {
      return call('POST', '/auth/login/mfa/passkey-options', { mfaToken });
    }

    it('is offered, and completes the sign-in with amr pwd, hwk, mfa', async () => {
      const { user, authenticator } = await givenPasskey();
      const { methods, mfaToken } = await passwordStep(user);
      expect(methods).toEqual(['passkey', 'recovery_code']);

      const options = await secondStepOptions(mfaToken);
      expect(options.statusCode).toBe(200);
      const requested = options.json<PublicKeyCredentialRequestOptionsJSON>();
      expect(requested.allowCredentials?.map(({ id }) => id)).toEqual(
        authenticator.credentialIds(),
      );

      // A refused assertion leaves the second step open; a good one completes it.
      const tampered = authenticator.authenticate(requested, { origin: FOREIGN_ORIGIN });
      const refused = await call('POST', '/auth/login/mfa', { mfaToken, assertion: tampered });
      expect(refused.statusCode).toBe(401);
      expect(refused.json()).toMatchObject({ error: 'PASSKEY_INVALID' });
      expect(setCookies(refused)).toEqual([]);

      const fresh = (
        await secondStepOptions(mfaToken)
      ).json<PublicKeyCredentialRequestOptionsJSON>();
      const completed = await call('POST', '/auth/login/mfa', {
        mfaToken,
        assertion: authenticator.authenticate(fresh),
      });
      expect(completed.statusCode).toBe(200);
      expect(completed.json<{ session: { amr: string[] } }>().session.amr).toEqual([
        'pwd',
        'hwk',
        'mfa',
      ]);
      expect(setCookies(completed)).toHaveLength(1);
    });

    it("refuses another user's passkey, a passwordless challenge, and options for a spent token", async () => {
      const { user } = await givenPasskey();
      const other = await givenPasskey();
      const { mfaToken } = await passwordStep(user);

      // The other user's authenticator answers this user's challenge: not this user's passkey.
      const requested = (
        await secondStepOptions(mfaToken)
      ).json<PublicKeyCredentialRequestOptionsJSON>();
      const foreignKey = other.authenticator.authenticate({ ...requested, allowCredentials: [] });
      const refused = await call('POST', '/auth/login/mfa', { mfaToken, assertion: foreignKey });
      expect(refused.statusCode).toBe(401);

      // An answer to a passwordless challenge is no second step (challenges are bound to a purpose).
      const crossPurpose = other.authenticator.authenticate(await signInOptions());
      const refusedPurpose = await call('POST', '/auth/login/mfa', {
        mfaToken,
        assertion: crossPurpose,
      });
      expect(refusedPurpose.statusCode).toBe(401);

      const unknown = await secondStepOptions('no-such-token');
      expect(unknown.statusCode).toBe(401);
      expect(unknown.json()).toMatchObject({ error: 'MFA_TOKEN_INVALID' });
    });

    it('wants exactly one of code, recoveryCode and assertion', async () => {
      const { user, authenticator } = await givenPasskey();
      const { mfaToken } = await passwordStep(user);
      const requested = (
        await secondStepOptions(mfaToken)
      ).json<PublicKeyCredentialRequestOptionsJSON>();
      const both = await call('POST', '/auth/login/mfa', {
        mfaToken,
        code: '123456',
        assertion: authenticator.authenticate(requested),
      });
      expect(both.statusCode).toBe(400);
      expect(both.json()).toMatchObject({ error: 'VALIDATION_FAILED' });
    });
  });

  describe('rate limits of the anonymous routes', () => {
    let limited: NestFastifyApplication;

    beforeAll(async () => {
      limited = await givenAuthApi({ ISSUER: ISSUER_ORIGIN, LOGIN_MAX_ATTEMPTS_PER_IP: '3' });
    });
    afterAll(() => limited?.close());

    function fromIp(ip: string, url: string, payload?: object): Promise<LightMyRequestResponse> {
      return limited.inject({
        method: 'POST',
        url,
        remoteAddress: ip,
        headers: { origin: TRUSTED_ORIGIN },
        ...(payload ? { payload } : {}),
      });
    }

    it('answers 429 with Retry-After once an IP started 60 passwordless sign-ins in 15 minutes', async () => {
      const ip = '198.51.100.7';
      for (let started = 0; started < 60; started += 1) {
        expect((await fromIp(ip, '/auth/passkey/options')).statusCode).toBe(200);
      }
      const refused = await fromIp(ip, '/auth/passkey/options');
      expect(refused.statusCode).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.json()).toMatchObject({ error: 'RATE_LIMITED' });
      // Another address is not held back.
      expect((await fromIp('198.51.100.8', '/auth/passkey/options')).statusCode).toBe(200);
    });

    it('counts failed passwordless sign-ins against the IP budget of failed sign-ins', async () => {
      const ip = '198.51.100.9';
      // A credential the platform never stored: every assertion of it fails.
      const stranger = new SoftAuthenticator(ISSUER_ORIGIN);
      const session = await givenCookieSession(limited, await givenUser(limited));
      const creation = await limited.inject({
        method: 'POST',
        url: '/me/mfa/passkeys/options',
        headers: { origin: TRUSTED_ORIGIN, cookie: session.cookie },
      });
      stranger.register(creation.json<PublicKeyCredentialCreationOptionsJSON>());
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const options = (await fromIp(ip, '/auth/passkey/options')).json();
        const refused = await fromIp(ip, '/auth/passkey', {
          response: stranger.authenticate(options as PublicKeyCredentialRequestOptionsJSON),
        });
        expect(refused.statusCode).toBe(401);
      }
      const options = (await fromIp(ip, '/auth/passkey/options')).json();
      const limitedAttempt = await fromIp(ip, '/auth/passkey', {
        response: stranger.authenticate(options as PublicKeyCredentialRequestOptionsJSON),
      });
      expect(limitedAttempt.statusCode).toBe(429);
      expect(limitedAttempt.json()).toMatchObject({ error: 'RATE_LIMITED' });
    });
  });
});
