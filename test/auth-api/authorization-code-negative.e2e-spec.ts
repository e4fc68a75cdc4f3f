import { createHash, randomBytes } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { GATEHOUSE_CONFIG, type GatehouseConfig } from '@gatehouse/config';
import { ClientService, Clock, type GrantType } from '@gatehouse/identity';
import type { LightMyRequestResponse } from 'fastify';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { hiddenInteraction } from '../support/code-flow.js';
import { uniqueEmail } from '../support/factories.js';
import {
  givenCookieSession,
  givenUser,
  SESSION_REVOKED,
  setCookies,
  type TestUser,
  TRUSTED_ORIGIN,
} from '../support/http.js';
import { givenAuthApi } from '../support/test-app.js';

const REDIRECT_URI = 'https://client.example/cb';
const REDIRECT_ORIGIN = 'https://client.example';
const FOREIGN_ORIGIN = 'https://evil.example';
const SCOPE = 'notes:read';
const CODE_TTL_SECONDS = 60;
const INTERACTION_TTL_SECONDS = 600;

const PAGE_CSP = (formTargets = '') =>
  `default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'${formTargets}; frame-ancestors 'none'; base-uri 'none'`;
/** The sign-in pages run the passkey ceremony: our own script and endpoints, nothing inline. */
const SCRIPTED_PAGE_CSP = (formTargets = '') =>
  `default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'${formTargets}; frame-ancestors 'none'; base-uri 'none'`;
/** The one script a page may load. */
const PASSKEY_SCRIPT = '<script src="/assets/passkey.js" defer></script>';

interface Pkce {
  readonly verifier: string;
  readonly challenge: string;
}

interface TokenBody {
  readonly access_token: string;
  readonly refresh_token?: string;
}

/** RFC 7636 §4.1–4.2: a 43-character verifier and its S256 challenge. */
function givenPkce(): Pkce {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

const formEncoded = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

/** The query of a 303's Location, resolved against the issuer (for our own pages). */
function locationOf(response: LightMyRequestResponse): URL {
  expect(response.statusCode).toBe(303);
  const location = response.headers.location;
  expect(typeof location).toBe('string');
  return new URL(location as string, 'http://gatehouse.invalid');
}

/**
 * An HTML page of ours: no redirect, locked down by its own CSP, never cached; no script but the
 * passkey ceremony's own file on the sign-in pages (and then a CSP that allows only that).
 */
function expectPage(response: LightMyRequestResponse, status: number, formTargets = ''): void {
  expect(response.statusCode).toBe(status);
  expect(response.headers.location).toBeUndefined();
  expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
  const scripted = response.body.includes(PASSKEY_SCRIPT);
  expect(response.headers['content-security-policy']).toBe(
    scripted ? SCRIPTED_PAGE_CSP(formTargets) : PAGE_CSP(formTargets),
  );
  expect(response.headers['cache-control']).toBe('no-store');
  expect(response.body.replace(PASSKEY_SCRIPT, '')).not.toMatch(/<script/i);
}

/** An answer sent back to the client's redirect_uri: the error, state and iss, never a code. */
function expectRedirectError(
  response: LightMyRequestResponse,
  error: string,
  { state, issuer }: { state: string | null; issuer: string },
): URLSearchParams {
  const location = locationOf(response);
  expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
  expect(location.searchParams.get('error')).toBe(error);
  expect(location.searchParams.get('error_description')).toEqual(expect.any(String));
  expect(location.searchParams.get('state')).toBe(state);
  expect(location.searchParams.get('iss')).toBe(issuer);
  expect(location.searchParams.has('code')).toBe(false);
  return location.searchParams;
}

/** One running auth-api and the steps of the authorization code flow, as a browser drives them. */
class Harness {
  readonly clock: Clock;
  readonly db: DataSource;
  readonly issuer: string;
  readonly cookieName: string;

  constructor(readonly app: NestFastifyApplication) {
    this.clock = app.get(Clock);
    this.db = app.get(DataSource);
    const config = app.get<GatehouseConfig>(GATEHOUSE_CONFIG);
    this.issuer = config.issuer;
    this.cookieName = config.session.cookieName;
  }

  /** The issuer's origin: what the browser sends with our own forms. */
  get origin(): string {
    return new URL(this.issuer).origin;
  }

  /** Moves the service clock `seconds` from now. */
  later(seconds: number): void {
    const now = Date.now();
    vi.spyOn(this.clock, 'now').mockReturnValue(new Date(now + seconds * 1000));
  }

  async givenClient(
    options: {
      name?: string;
      grantTypes?: GrantType[];
      requireConsent?: boolean;
      requireState?: boolean;
      public?: boolean;
    } = {},
  ): Promise<{ id: string; secret: string | null }> {
    const { client, clientSecret } = await this.app.get(ClientService).create({
      name: options.name ?? 'Third-party notes viewer',
      grantTypes: options.grantTypes ?? ['authorization_code', 'refresh_token'],
      scopes: [SCOPE],
      redirectUris: [REDIRECT_URI],
      public: options.public ?? true,
      requireConsent: options.requireConsent ?? true,
      requireState: options.requireState ?? false,
    });
    return { id: client.id, secret: clientSecret };
  }

  /** A valid authorization request of `clientId`, with `overrides` (undefined drops a parameter). */
  authorizeQuery(
    clientId: string,
    pkce: Pkce,
    overrides: Record<string, string | undefined> = {},
  ): string {
    const params: Record<string, string | undefined> = {
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT_URI,
      scope: SCOPE,
      state: 'state-123',
      code_challenge: pkce.challenge,
      code_challenge_method: 'S256',
      ...overrides,
    };
    const defined = Object.entries(params).filter(
      (entry): entry is [string, string] => entry[1] !== undefined,
    );
    return new URLSearchParams(defined).toString();
  }

  authorize(query: string, cookie?: string): Promise<LightMyRequestResponse> {
    return this.app.inject({
      method: 'GET',
      url: `/oauth/authorize?${query}`,
      ...(cookie ? { headers: { cookie } } : {}),
    });
  }

  resume(interaction: string, cookie?: string): Promise<LightMyRequestResponse> {
    return this.app.inject({
      method: 'GET',
      url: `/oauth/authorize/resume?${formEncoded({ interaction })}`,
      ...(cookie ? { headers: { cookie } } : {}),
    });
  }

  signIn(
    fields: Record<string, string>,
    origin: string | null = this.origin,
  ): Promise<LightMyRequestResponse> {
    return this.app.inject({
      method: 'POST',
      url: '/signin',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(origin === null ? {} : { origin }),
      },
      payload: formEncoded(fields),
    });
  }

  consent(
    interaction: string,
    decision: 'approve' | 'deny',
    cookie: string,
    origin: string | null = this.origin,
  ): Promise<LightMyRequestResponse> {
    return this.app.inject({
      method: 'POST',
      url: '/oauth/authorize/consent',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie,
        ...(origin === null ? {} : { origin }),
      },
      payload: formEncoded({ interaction, decision }),
    });
  }

  /** The session cookie a response sets, ready for a `cookie` header. */
  sessionCookie(response: LightMyRequestResponse): string {
    const prefix = `${this.cookieName}=`;
    const value = setCookies(response)
      .find((cookie) => cookie.startsWith(prefix))
      ?.split(';')[0];
    expect(value).toBeDefined();
    return value!;
  }

  /**
   * Authorize → sign-in page → sign in → resume → consent page: the signed-in browser's cookie and
   * the sealed interaction of the consent form.
   */
  async untilConsent(query: string, user: TestUser): Promise<{ cookie: string; sealed: string }> {
    const toSignIn = locationOf(await this.authorize(query));
    expect(toSignIn.pathname).toBe('/signin');
    const sealed = toSignIn.searchParams.get('interaction')!;
    const signInPage = await this.app.inject({
      method: 'GET',
      url: toSignIn.pathname + toSignIn.search,
    });
    expectPage(signInPage, 200, ` ${REDIRECT_ORIGIN}`);
    const signedIn = await this.signIn({
      email: user.email,
      password: user.password,
      interaction: hiddenInteraction(signInPage.body),
    });
    const cookie = this.sessionCookie(signedIn);
    const toResume = locationOf(signedIn);
    expect(toResume.pathname).toBe('/oauth/authorize/resume');
    const consentPage = await this.resume(toResume.searchParams.get('interaction')!, cookie);
    expectPage(consentPage, 200, ` ${REDIRECT_ORIGIN}`);
    const consentSealed = hiddenInteraction(consentPage.body);
    expect(consentSealed).toBe(sealed);
    return { cookie, sealed: consentSealed };
  }

  /** The whole flow, approved: the code in the redirect. */
  async givenCode(clientId: string, user: TestUser, pkce: Pkce): Promise<string> {
    const { cookie, sealed } = await this.untilConsent(this.authorizeQuery(clientId, pkce), user);
    const answer = locationOf(await this.consent(sealed, 'approve', cookie));
    expect(`${answer.origin}${answer.pathname}`).toBe(REDIRECT_URI);
    expect(answer.searchParams.get('state')).toBe('state-123');
    expect(answer.searchParams.get('iss')).toBe(this.issuer);
    const code = answer.searchParams.get('code');
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    return code!;
  }

  token(params: Record<string, string>): Promise<LightMyRequestResponse> {
    return this.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: formEncoded(params),
    });
  }

  redeem(
    clientId: string,
    code: string,
    pkce: Pkce,
    overrides: Record<string, string | undefined> = {},
  ): Promise<LightMyRequestResponse> {
    const params: Record<string, string | undefined> = {
      grant_type: 'authorization_code',
      client_id: clientId,
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: pkce.verifier,
      ...overrides,
    };
    return this.token(
      Object.fromEntries(
        Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined),
      ),
    );
  }

  /** Token sessions ever started for the client: zero means nothing was issued. */
  async tokenSessionsOf(clientId: string): Promise<number> {
    const [row] = await this.db.query<{ count: number }[]>(
      `SELECT count(*)::int AS count FROM sessions WHERE client_id = $1`,
      [clientId],
    );
    return row!.count;
  }

  /** Codes ever issued to the client. */
  async codesOf(clientId: string): Promise<number> {
    const [row] = await this.db.query<{ count: number }[]>(
      `SELECT count(*)::int AS count FROM authorization_codes WHERE client_id = $1`,
      [clientId],
    );
    return row!.count;
  }
}

/** A refused token request: RFC 6749 §5.2 JSON, 400, nothing issued. */
function expectOAuthError(response: LightMyRequestResponse, error: string, description?: string) {
  expect(response.json()).toEqual({
    error,
    error_description: description ?? expect.any(String),
  });
  expect(response.statusCode).toBe(400);
}

describe('authorization code grant: refusals', () => {
  let h: Harness;
  let user: TestUser;

  beforeAll(async () => {
    h = new Harness(await givenAuthApi());
    user = await givenUser(h.app);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await h.app.close();
  });

  describe('token endpoint', () => {
    it('refuses a redemption without code_verifier with invalid_request, and issues nothing', async () => {
      const client = await h.givenClient();
      const pkce = givenPkce();
      const code = await h.givenCode(client.id, user, pkce);
      expectOAuthError(
        await h.redeem(client.id, code, pkce, { code_verifier: undefined }),
        'invalid_request',
        'The parameter code_verifier is required.',
      );
      expect(await h.tokenSessionsOf(client.id)).toBe(0);
    });

    it.each(['code', 'redirect_uri'])(
      'refuses a redemption without %s with invalid_request',
      async (missing) => {
        const client = await h.givenClient();
        const pkce = givenPkce();
        const code = await h.givenCode(client.id, user, pkce);
        expectOAuthError(
          await h.redeem(client.id, code, pkce, { [missing]: undefined }),
          'invalid_request',
          `The parameter ${missing} is required.`,
        );
        expect(await h.tokenSessionsOf(client.id)).toBe(0);
      },
    );

    it.each([
      ['another well-formed verifier', () => givenPkce().verifier],
      ['the challenge itself (plain)', (pkce: Pkce) => pkce.challenge],
      ['a verifier too short for RFC 7636', (pkce: Pkce) => pkce.verifier.slice(0, 42)],
    ])('refuses %s as code_verifier with invalid_grant', async (_name, verifierOf) => {
      const client = await h.givenClient();
      const pkce = givenPkce();
      const code = await h.givenCode(client.id, user, pkce);
      expectOAuthError(
        await h.redeem(client.id, code, pkce, { code_verifier: verifierOf(pkce) }),
        'invalid_grant',
        'The code_verifier does not match the code_challenge.',
      );
      expect(await h.tokenSessionsOf(client.id)).toBe(0);
    });

    it('refuses a redirect_uri that differs by a trailing slash with invalid_grant', async () => {
      const client = await h.givenClient();
      const pkce = givenPkce();
      const code = await h.givenCode(client.id, user, pkce);
      expectOAuthError(
        await h.redeem(client.id, code, pkce, { redirect_uri: `${REDIRECT_URI}/` }),
        'invalid_grant',
        'The redirect_uri differs from the authorization request.',
      );
      expect(await h.tokenSessionsOf(client.id)).toBe(0);
    });

    it('refuses a reused code and revokes the session its first redemption started', async () => {
      const client = await h.givenClient();
      const pkce = givenPkce();
      const code = await h.givenCode(client.id, user, pkce);
      const first = await h.redeem(client.id, code, pkce);
      expect(first.statusCode).toBe(200);
      const tokens = first.json<TokenBody>();
      const bearer = { authorization: `Bearer ${tokens.access_token}` };
      // Alive: authenticated, then refused for scope (a third-party token never holds `account`).
      expect((await h.app.inject({ method: 'GET', url: '/me', headers: bearer })).statusCode).toBe(
        403,
      );

      expectOAuthError(
        await h.redeem(client.id, code, pkce),
        'invalid_grant',
        'The authorization code has already been used.',
      );

      const me = await h.app.inject({ method: 'GET', url: '/me', headers: bearer });
      expect(me.statusCode).toBe(401);
      expect(me.json()).toEqual(SESSION_REVOKED);
      expectOAuthError(
        await h.token({
          grant_type: 'refresh_token',
          client_id: client.id,
          refresh_token: tokens.refresh_token!,
        }),
        'invalid_grant',
      );
      expect(await h.tokenSessionsOf(client.id)).toBe(1);
      const [session] = await h.db.query<{ revoked_reason: string | null }[]>(
        `SELECT revoked_reason FROM sessions WHERE client_id = $1`,
        [client.id],
      );
      expect(session?.revoked_reason).toBe('authorization_code_reuse');
    });

    it('refuses the code of another client with invalid_grant, even with its verifier', async () => {
      const owner = await h.givenClient();
      const other = await h.givenClient();
      const pkce = givenPkce();
      const code = await h.givenCode(owner.id, user, pkce);
      expectOAuthError(
        await h.redeem(other.id, code, pkce),
        'invalid_grant',
        'The authorization code is invalid.',
      );
      expect(await h.tokenSessionsOf(other.id)).toBe(0);
      expect(await h.tokenSessionsOf(owner.id)).toBe(0);
    });

    it(`refuses a code ${CODE_TTL_SECONDS + 1} s after it was issued with invalid_grant`, async () => {
      const client = await h.givenClient();
      const pkce = givenPkce();
      const code = await h.givenCode(client.id, user, pkce);
      h.later(CODE_TTL_SECONDS + 1);
      expectOAuthError(
        await h.redeem(client.id, code, pkce),
        'invalid_grant',
        'The authorization code has expired.',
      );
      expect(await h.tokenSessionsOf(client.id)).toBe(0);
    });

    it.each([
      ['a code never issued', randomBytes(32).toString('base64url')],
      ['a malformed code', 'not a code'],
    ])('refuses %s with invalid_grant', async (_name, code) => {
      const client = await h.givenClient();
      expectOAuthError(
        await h.redeem(client.id, code, givenPkce()),
        'invalid_grant',
        'The authorization code is invalid.',
      );
      expect(await h.tokenSessionsOf(client.id)).toBe(0);
    });

    it('refuses a client without the authorization_code grant with unauthorized_client', async () => {
      const client = await h.givenClient({ grantTypes: ['client_credentials'], public: false });
      const pkce = givenPkce();
      const response = await h.token({
        grant_type: 'authorization_code',
        client_id: client.id,
        client_secret: client.secret!,
        code: randomBytes(32).toString('base64url'),
        redirect_uri: REDIRECT_URI,
        code_verifier: pkce.verifier,
      });
      expectOAuthError(response, 'unauthorized_client');
      expect(await h.tokenSessionsOf(client.id)).toBe(0);
    });

    it('answers a client_id with a NUL byte with 401 invalid_client (not a 500)', async () => {
      const response = await h.token({
        grant_type: 'authorization_code',
        client_id: 'bad\u0000id',
        code: randomBytes(32).toString('base64url'),
        redirect_uri: REDIRECT_URI,
        code_verifier: givenPkce().verifier,
      });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({ error: 'invalid_client' });
    });
  });

  describe('authorization endpoint', () => {
    it.each([
      ['code_challenge_method=plain', { code_challenge_method: 'plain' }],
      ['no code_challenge_method', { code_challenge_method: undefined }],
      ['no code_challenge', { code_challenge: undefined }],
      ['a malformed code_challenge', { code_challenge: 'too-short' }],
      ['an unknown prompt', { prompt: 'select_account' }],
      ['prompt=none with another prompt', { prompt: 'none login' }],
      ['a max_age that is not a number', { max_age: 'soon' }],
      ['a nonce longer than 512 characters', { nonce: 'n'.repeat(513) }],
      ['a nonce with a control character', { nonce: 'a\u0000b' }],
    ])('redirects %s back with invalid_request and no code', async (_name, overrides) => {
      const client = await h.givenClient();
      const response = await h.authorize(h.authorizeQuery(client.id, givenPkce(), overrides));
      expectRedirectError(response, 'invalid_request', { state: 'state-123', issuer: h.issuer });
      expect(await h.codesOf(client.id)).toBe(0);
    });

    it.each([
      ['longer than 512 characters', 's'.repeat(7000)],
      ['with a control character', 'a\r\nb'],
    ])(
      'redirects a state %s back with invalid_request, without echoing it',
      async (_name, state) => {
        const client = await h.givenClient();
        const response = await h.authorize(h.authorizeQuery(client.id, givenPkce(), { state }));
        expectRedirectError(response, 'invalid_request', { state: null, issuer: h.issuer });
        expect(await h.codesOf(client.id)).toBe(0);
      },
    );

    it('shows a client_id with a NUL byte on the error page (not a 500)', async () => {
      const response = await h.authorize(
        h.authorizeQuery('bad\u0000id', givenPkce(), { redirect_uri: REDIRECT_URI }),
      );
      expectPage(response, 400);
      expect(response.headers['location']).toBeUndefined();
    });

    it('redirects a request without state back with invalid_request when the client requires state', async () => {
      const client = await h.givenClient({ requireState: true });
      const response = await h.authorize(
        h.authorizeQuery(client.id, givenPkce(), { state: undefined }),
      );
      const answer = expectRedirectError(response, 'invalid_request', {
        state: null,
        issuer: h.issuer,
      });
      expect(answer.get('error_description')).toBe('This client must send state.');
    });

    it('redirects a client without the authorization_code grant back with unauthorized_client', async () => {
      const client = await h.givenClient({ grantTypes: ['client_credentials'], public: false });
      const response = await h.authorize(h.authorizeQuery(client.id, givenPkce()));
      expectRedirectError(response, 'unauthorized_client', {
        state: 'state-123',
        issuer: h.issuer,
      });
    });

    it('redirects response_type=token back with unsupported_response_type', async () => {
      const client = await h.givenClient();
      const response = await h.authorize(
        h.authorizeQuery(client.id, givenPkce(), { response_type: 'token' }),
      );
      const answer = expectRedirectError(response, 'unsupported_response_type', {
        state: 'state-123',
        issuer: h.issuer,
      });
      expect(answer.has('access_token')).toBe(false);
    });

    it('redirects a scope the client was not given back with invalid_scope', async () => {
      const client = await h.givenClient();
      const response = await h.authorize(
        h.authorizeQuery(client.id, givenPkce(), { scope: `${SCOPE} admin` }),
      );
      expectRedirectError(response, 'invalid_scope', { state: 'state-123', issuer: h.issuer });
    });

    it.each([
      ['an unknown client_id', (clientId: string) => ({ client_id: `${clientId}-unknown` })],
      ['no client_id', () => ({ client_id: undefined })],
      ['an unregistered redirect_uri', () => ({ redirect_uri: 'https://evil.example/cb' })],
      ['a redirect_uri with a trailing slash', () => ({ redirect_uri: `${REDIRECT_URI}/` })],
      ['a redirect_uri in another case', () => ({ redirect_uri: REDIRECT_URI.toUpperCase() })],
      ['a redirect_uri with an extra query', () => ({ redirect_uri: `${REDIRECT_URI}?x=1` })],
      ['no redirect_uri', () => ({ redirect_uri: undefined })],
    ])('shows %s on the error page, never redirecting', async (_name, overridesOf) => {
      const client = await h.givenClient();
      const response = await h.authorize(
        h.authorizeQuery(client.id, givenPkce(), overridesOf(client.id)),
      );
      expectPage(response, 400);
      expect(response.body).toContain('not registered');
      expect(await h.codesOf(client.id)).toBe(0);
    });

    it.each(['client_id', 'redirect_uri', 'state', 'code_challenge'])(
      'shows a repeated %s on the error page, never redirecting',
      async (name) => {
        const client = await h.givenClient();
        const pkce = givenPkce();
        const query = h.authorizeQuery(client.id, pkce);
        const repeated = new URLSearchParams(query).get(name)!;
        const response = await h.authorize(`${query}&${formEncoded({ [name]: repeated })}`);
        expectPage(response, 400);
        expect(response.body).toContain(`${name} is repeated.`);
      },
    );

    it('redirects prompt=none without a signed-in user back with login_required, state and iss', async () => {
      const client = await h.givenClient();
      const response = await h.authorize(
        h.authorizeQuery(client.id, givenPkce(), { prompt: 'none' }),
      );
      expectRedirectError(response, 'login_required', { state: 'state-123', issuer: h.issuer });
    });

    it('redirects prompt=none of a signed-in user who never approved the client with consent_required', async () => {
      const client = await h.givenClient();
      const { cookie } = await givenCookieSession(h.app, user, { origin: TRUSTED_ORIGIN });
      const response = await h.authorize(
        h.authorizeQuery(client.id, givenPkce(), { prompt: 'none' }),
        cookie,
      );
      expectRedirectError(response, 'consent_required', { state: 'state-123', issuer: h.issuer });
      expect(await h.codesOf(client.id)).toBe(0);
    });

    it('redirects a denial on the consent page back with access_denied, and remembers no consent', async () => {
      const client = await h.givenClient();
      const query = h.authorizeQuery(client.id, givenPkce());
      const { cookie, sealed } = await h.untilConsent(query, user);
      const response = await h.consent(sealed, 'deny', cookie);
      expectRedirectError(response, 'access_denied', { state: 'state-123', issuer: h.issuer });
      expect(await h.codesOf(client.id)).toBe(0);
      // Still not approved: the next request asks again.
      expectPage(await h.authorize(query, cookie), 200, ` ${REDIRECT_ORIGIN}`);
    });
  });

  describe('sign-in and consent pages', () => {
    async function signInPageInteraction(): Promise<string> {
      const client = await h.givenClient();
      const toSignIn = locationOf(await h.authorize(h.authorizeQuery(client.id, givenPkce())));
      return toSignIn.searchParams.get('interaction')!;
    }

    it.each([
      ['without Origin or Referer', null],
      ['from a foreign Origin', FOREIGN_ORIGIN],
      ['from another trusted app origin', 'http://localhost:3001'],
    ])('refuses a sign-in form %s with 403 and sets no cookie', async (_name, origin) => {
      const interaction = await signInPageInteraction();
      const response = await h.signIn(
        { email: user.email, password: user.password, interaction },
        origin,
      );
      expectPage(response, 403);
      expect(setCookies(response)).toEqual([]);
    });

    it.each([
      ['a wrong password', () => ({ email: user.email, password: 'wrong password, surely' })],
      ['an unknown email', () => ({ email: uniqueEmail('nobody'), password: user.password })],
    ])(
      'answers %s with 401, the same generic message, the form again and no cookie',
      async (_name, credentials) => {
        const interaction = await signInPageInteraction();
        const response = await h.signIn({ ...credentials(), interaction });
        expectPage(response, 401, ` ${REDIRECT_ORIGIN}`);
        expect(response.body).toContain('The email or password is incorrect.');
        expect(hiddenInteraction(response.body)).toBe(interaction);
        expect(setCookies(response)).toEqual([]);
      },
    );

    it('refuses a consent form from a foreign Origin with the error page and no code', async () => {
      const client = await h.givenClient();
      const { cookie, sealed } = await h.untilConsent(
        h.authorizeQuery(client.id, givenPkce()),
        user,
      );
      for (const origin of [FOREIGN_ORIGIN, null]) {
        const response = await h.consent(sealed, 'approve', cookie, origin);
        expectPage(response, 400);
      }
      expect(await h.codesOf(client.id)).toBe(0);
      expect(await h.db.query(`SELECT 1 FROM consents WHERE client_id = $1`, [client.id])).toEqual(
        [],
      );
    });

    it('shows a tampered interaction on the error page, at resume and at consent', async () => {
      const client = await h.givenClient();
      const { cookie, sealed } = await h.untilConsent(
        h.authorizeQuery(client.id, givenPkce()),
        user,
      );
      const middle = Math.floor(sealed.length / 2);
      const tampered = `${sealed.slice(0, middle)}${sealed[middle] === 'A' ? 'B' : 'A'}${sealed.slice(middle + 1)}`;
      for (const response of [
        await h.resume(tampered, cookie),
        await h.consent(tampered, 'approve', cookie),
        await h.resume('', cookie),
        // Node's base64url decoder skips foreign characters: they must not make a second spelling
        // (nor reach a Location header).
        await h.resume(`${sealed}\r\n`, cookie),
        await h.resume(`${sealed}!!!`, cookie),
        await h.consent(`${sealed}\u0000`, 'approve', cookie),
      ]) {
        expectPage(response, 400);
        expect(response.body).toContain('expired');
      }
      expect(await h.codesOf(client.id)).toBe(0);
    });

    it(`shows an interaction older than ${INTERACTION_TTL_SECONDS} s on the error page`, async () => {
      const client = await h.givenClient();
      const { cookie, sealed } = await h.untilConsent(
        h.authorizeQuery(client.id, givenPkce()),
        user,
      );
      h.later(INTERACTION_TTL_SECONDS + 1);
      expectPage(await h.resume(sealed, cookie), 400);
      expectPage(await h.consent(sealed, 'approve', cookie), 400);
      expect(await h.codesOf(client.id)).toBe(0);
    });

    it('escapes a client name full of markup on the consent page', async () => {
      const name = `<script>alert("x")</script><img src=x onerror='y'>`;
      const client = await h.givenClient({ name });
      const query = h.authorizeQuery(client.id, givenPkce());
      const { cookie } = await h.untilConsent(query, user);
      const page = await h.authorize(query, cookie);
      expectPage(page, 200, ` ${REDIRECT_ORIGIN}`);
      expect(page.body).toContain(
        '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=&#39;y&#39;&gt;',
      );
      expect(page.body).not.toContain('<img');
    });

    it("serves the pages' only stylesheet from our origin (style-src 'self', no inline style)", async () => {
      const css = await h.app.inject({ method: 'GET', url: '/assets/gatehouse.css' });
      expect(css.statusCode).toBe(200);
      expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    });
  });
});
