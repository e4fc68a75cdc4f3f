import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LightMyRequestResponse } from 'fastify';
import { DataSource } from 'typeorm';
import { expect } from 'vitest';

import { STRONG_PASSWORD, uniqueEmail } from './factories.js';

/** The first default trusted origin: what a browser on the app's own site sends. */
export const TRUSTED_ORIGIN = 'http://localhost:3000';
export const COOKIE_NAME = 'gh_session';

/** The 401 body for a credential whose session has been ended. */
export const SESSION_REVOKED = {
  statusCode: 401,
  error: 'SESSION_REVOKED',
  message: 'The session has been ended. Sign in again.',
};

/** A session as `GET /me/sessions` lists it (the fields these tests read). */
export interface ListedSession {
  readonly id: string;
  readonly kind: 'cookie' | 'token';
  readonly client: { id: string; name: string } | null;
  readonly current: boolean;
}

/** A session as admin-api's `GET /admin/sessions` lists it (the fields these tests read). */
export interface AdminSessionRow {
  readonly id: string;
  readonly user: { id: string; email: string };
  readonly kind: 'cookie' | 'token';
  readonly client: { id: string; name: string } | null;
  readonly active: boolean;
  readonly revokedReason: string | null;
}

export interface TestUser {
  readonly id: string;
  readonly email: string;
  readonly password: string;
}

export interface CookieSession {
  readonly sessionId: string;
  /** The raw cookie value (the token). */
  readonly token: string;
  /** Ready for a `cookie` request header. */
  readonly cookie: string;
}

/** Registers a user through the API, as a real client would. */
export async function givenUser(
  app: NestFastifyApplication,
  password = STRONG_PASSWORD,
): Promise<TestUser> {
  const email = uniqueEmail();
  const response = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { email, password },
  });
  expect(response.statusCode).toBe(201);
  return { id: response.json<{ id: string }>().id, email, password };
}

export interface LoginOptions {
  readonly origin?: string | null;
  readonly cookie?: string;
  readonly remoteAddress?: string;
  readonly userAgent?: string;
}

export function login(
  app: NestFastifyApplication,
  credentials: { email: string; password: string },
  { origin = TRUSTED_ORIGIN, cookie, remoteAddress, userAgent }: LoginOptions = {},
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email: credentials.email, password: credentials.password },
    headers: {
      ...(origin === null ? {} : { origin }),
      ...(cookie ? { cookie } : {}),
      ...(userAgent ? { 'user-agent': userAgent } : {}),
    },
    ...(remoteAddress ? { remoteAddress } : {}),
  });
}

/** The Set-Cookie header values of a response (always an array). */
export function setCookies(response: LightMyRequestResponse): string[] {
  const header = response.headers['set-cookie'];
  if (header === undefined) {
    return [];
  }
  return Array.isArray(header) ? header : [header];
}

/** Signs the user in and returns the session cookie. */
export async function givenCookieSession(
  app: NestFastifyApplication,
  user: TestUser,
  options: LoginOptions = {},
): Promise<CookieSession> {
  const response = await login(app, user, options);
  expect(response.statusCode).toBe(200);
  const [setCookie] = setCookies(response);
  const token = /^gh_session=([^;]+);/.exec(setCookie ?? '')?.[1];
  expect(token).toBeDefined();
  return {
    sessionId: response.json<{ session: { id: string } }>().session.id,
    token: token!,
    cookie: `${COOKIE_NAME}=${token!}`,
  };
}

/** A registered user given the admin role in the database, signed in with a cookie. */
export async function givenOperatorSession(app: NestFastifyApplication): Promise<CookieSession> {
  const operator = await givenUser(app);
  await app
    .get(DataSource)
    .query('UPDATE users SET roles = $2 WHERE id = $1', [operator.id, ['admin']]);
  return givenCookieSession(app, operator);
}

/** A cookie-authenticated request from the trusted origin. */
export function withCookie(
  app: NestFastifyApplication,
  session: Pick<CookieSession, 'cookie'>,
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  payload?: object,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method,
    url,
    headers: { cookie: session.cookie, origin: TRUSTED_ORIGIN },
    ...(payload ? { payload } : {}),
  });
}

export interface TokenResponse {
  readonly access_token: string;
  readonly refresh_token: string;
  readonly token_type: string;
  readonly expires_in: number;
  readonly scope: string;
}

/** Signs the user in through the first-party client's password grant, as a mobile app would. */
export async function givenTokens(
  app: NestFastifyApplication,
  user: { email: string; password: string },
  { userAgent, remoteAddress }: { userAgent?: string; remoteAddress?: string } = {},
): Promise<TokenResponse> {
  const response = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    payload: {
      grant_type: 'password',
      client_id: 'gatehouse-first-party',
      username: user.email,
      password: user.password,
    },
    ...(userAgent ? { headers: { 'user-agent': userAgent } } : {}),
    ...(remoteAddress ? { remoteAddress } : {}),
  });
  expect(response.statusCode).toBe(200);
  return response.json<TokenResponse>();
}

/** The first-party client's refresh grant with `refreshToken`, answered as it comes. */
export function refreshGrant(app: NestFastifyApplication, refreshToken: string) {
  return app.inject({
    method: 'POST',
    url: '/oauth/token',
    payload: {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: 'gatehouse-first-party',
    },
  });
}

/** Registers a user over real HTTP (fetch), at a listening auth-api. */
export async function givenUserAt(issuer: string, password = STRONG_PASSWORD): Promise<TestUser> {
  const email = uniqueEmail();
  const response = await fetch(`${issuer}/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  expect(response.status).toBe(201);
  return { id: ((await response.json()) as { id: string }).id, email, password };
}

/**
 * A user registered over real HTTP whose roles are then set in the database (no operator exists
 * yet to set them through admin-api): `admin` by default.
 */
export async function givenOperatorAt(
  app: NestFastifyApplication,
  issuer: string,
  roles: readonly string[] = ['admin'],
): Promise<TestUser> {
  const user = await givenUserAt(issuer);
  await app.get(DataSource).query('UPDATE users SET roles = $2 WHERE id = $1', [user.id, roles]);
  return user;
}

/** Signs the user in over real HTTP from the trusted origin; the session cookie. */
export async function givenCookieSessionAt(
  issuer: string,
  user: { email: string; password: string },
): Promise<CookieSession> {
  const response = await fetch(`${issuer}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: TRUSTED_ORIGIN },
    body: JSON.stringify({ email: user.email, password: user.password }),
  });
  expect(response.status).toBe(200);
  const token = response.headers
    .getSetCookie()
    .map((setCookie) => new RegExp(`^${COOKIE_NAME}=([^;]+);`).exec(setCookie)?.[1])
    .find(Boolean);
  expect(token).toBeDefined();
  const { session } = (await response.json()) as { session: { id: string } };
  return { sessionId: session.id, token: token!, cookie: `${COOKIE_NAME}=${token!}` };
}

/** POST of a form over real HTTP (the OAuth endpoints' encoding); the raw response. */
export function postForm(
  url: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

/** The first-party client's password grant over real HTTP, with extra parameters (scope, resource…). */
export function passwordGrantAt(
  issuer: string,
  user: { email: string; password: string },
  parameters: Record<string, string> = {},
): Promise<Response> {
  return postForm(`${issuer}/oauth/token`, {
    grant_type: 'password',
    client_id: 'gatehouse-first-party',
    username: user.email,
    password: user.password,
    ...parameters,
  });
}

/** admin-api called over real HTTP with an operator's bearer token (a JSON body when given). */
export type OperatorCall = (method: string, path: string, body?: object) => Promise<Response>;

/**
 * An operator (`givenOperatorAt`) signed in with the password grant at `issuer`, and a caller of
 * admin-api at `adminUrl` with their access token.
 */
export async function givenOperatorCallAt(
  app: NestFastifyApplication,
  issuer: string,
  adminUrl: string,
): Promise<OperatorCall> {
  const operator = await givenOperatorAt(app, issuer);
  const { access_token: token } = (await (await passwordGrantAt(issuer, operator)).json()) as {
    access_token: string;
  };
  return (method, path, body) =>
    fetch(`${adminUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
}
