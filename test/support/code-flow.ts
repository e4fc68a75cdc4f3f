import { createHash, randomBytes } from 'node:crypto';

import { expect } from 'vitest';

import { HttpBrowser } from './http-browser.js';
import type { TestUser } from './http.js';

/** The value of the hidden `interaction` input of a sign-in or consent page. */
export function hiddenInteraction(html: string): string {
  const value = /<input type="hidden" name="interaction" value="([^"]+)">/.exec(html)?.[1];
  expect(value, 'the page carries the sealed interaction').toBeDefined();
  return value!;
}

export interface AuthorizationRequest {
  readonly issuer: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly scope: string;
  /** More query parameters (`resource`, `prompt`…); an array repeats the parameter. */
  readonly extra?: Readonly<Record<string, string | readonly string[]>>;
}

/** The start of a code flow (PKCE S256): the authorization URL, its state and verifier. */
export function authorizationUrl(request: AuthorizationRequest): {
  url: URL;
  state: string;
  codeVerifier: string;
} {
  const codeVerifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const url = new URL('/oauth/authorize', request.issuer);
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: request.clientId,
    redirect_uri: request.redirectUri,
    scope: request.scope,
    state,
    code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'),
    code_challenge_method: 'S256',
  });
  for (const [name, value] of Object.entries(request.extra ?? {})) {
    for (const one of typeof value === 'string' ? [value] : value) {
      query.append(name, one);
    }
  }
  url.search = query.toString();
  return { url, state, codeVerifier };
}

/** The value of the hidden `mfa_token` input of the sign-in page's second step. */
export function hiddenMfaToken(html: string): string | null {
  return /<input type="hidden" name="mfa_token" value="([^"]+)">/.exec(html)?.[1] ?? null;
}

/**
 * After a correct password, the second step of `/signin` for a user with a factor: checks the page
 * asks for a code, posts `secondFactor` (a code field name and value) and answers the 303.
 */
export async function completeSecondStep(
  browser: HttpBrowser,
  page: Response,
  secondFactor: Readonly<Record<string, string>>,
): Promise<Response> {
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain('<label for="code">');
  const mfaToken = hiddenMfaToken(html);
  expect(mfaToken, 'the second step carries the mfa token').not.toBeNull();
  const interaction = /<input type="hidden" name="interaction" value="([^"]+)">/.exec(html)?.[1];
  const device = /<input type="hidden" name="device" value="([^"]*)">/.exec(html)?.[1];
  return browser.post('/signin/mfa', {
    mfa_token: mfaToken!,
    ...(interaction ? { interaction } : {}),
    ...(device !== undefined ? { device } : {}),
    ...secondFactor,
  });
}

/**
 * The browser part of the code flow for `user` over real HTTP: sign-in page (and its second step
 * with the code `secondFactor()` gives, for a user with a factor), consent page when asked; the
 * callback URL (checked to carry the state) and the code verifier.
 */
export async function authorizeInBrowser(
  request: AuthorizationRequest,
  user: TestUser,
  { secondFactor }: { readonly secondFactor?: () => Readonly<Record<string, string>> } = {},
): Promise<{ browser: HttpBrowser; callback: URL; codeVerifier: string }> {
  const browser = new HttpBrowser(request.issuer);
  const { url, state, codeVerifier } = authorizationUrl(request);
  const toSignIn = await browser.get(url);
  expect(toSignIn.status).toBe(303);
  const signInPage = new URL(toSignIn.headers.get('location')!, request.issuer);
  expect(signInPage.pathname).toBe('/signin');
  const page = await browser.get(signInPage);
  expect(page.status).toBe(200);
  let signedIn = await browser.post('/signin', {
    email: user.email,
    password: user.password,
    interaction: hiddenInteraction(await page.text()),
  });
  if (secondFactor) {
    signedIn = await completeSecondStep(browser, signedIn, secondFactor());
  }
  expect(signedIn.status).toBe(303);
  let response = await browser.get(new URL(signedIn.headers.get('location')!, request.issuer));
  if (response.status === 200) {
    response = await browser.post('/oauth/authorize/consent', {
      interaction: hiddenInteraction(await response.text()),
      decision: 'approve',
    });
  }
  expect(response.status).toBe(303);
  const callback = new URL(response.headers.get('location')!, request.issuer);
  expect(callback.origin + callback.pathname).toBe(request.redirectUri);
  expect(callback.searchParams.get('state')).toBe(state);
  return { browser, callback, codeVerifier };
}
