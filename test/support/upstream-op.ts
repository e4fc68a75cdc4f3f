import { createServer, type Server } from 'node:http';

import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type Configuration } from 'oidc-provider';

import { freePort } from './test-app.js';

/** The claims of the account the upstream signs in next (the test decides). */
export interface UpstreamAccount {
  readonly sub: string;
  readonly email?: string;
  readonly email_verified?: boolean;
}

export interface UpstreamOp {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Who the upstream's (automatic) login step signs in. */
  signInAs(account: UpstreamAccount): void;
  close(): Promise<void>;
}

/**
 * A real OpenID Provider (panva's oidc-provider 8.8, certified), in-process on loopback, with one
 * static confidential client whose redirect URIs are given. Its interaction step signs in the
 * account the test chose and grants the requested scopes at once (no pages to fill in).
 */
export async function givenUpstreamOp(redirectUris: readonly string[]): Promise<UpstreamOp> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = 'gatehouse-rp';
  const clientSecret = 'upstream-client-secret-0123456789';
  const accounts = new Map<string, UpstreamAccount>();
  let next: UpstreamAccount | null = null;

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const configuration: Configuration = {
    jwks: {
      keys: [{ ...(await exportJWK(privateKey)), kid: 'upstream', alg: 'RS256', use: 'sig' }],
    },
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [...redirectUris],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: ['upstream-test-cookie-key'] },
    findAccount: (_ctx, id) => {
      const account = accounts.get(id);
      return account ? { accountId: id, claims: () => ({ ...account }) } : undefined;
    },
    // Quiet: no warnings about the development keys in test output.
    renderError: (ctx, out) => {
      ctx.type = 'json';
      ctx.body = out;
    },
  };
  const provider = new Provider(issuer, configuration);
  const callback = provider.callback();

  const server: Server = createServer((request, response) => {
    if (!request.url?.startsWith('/interaction/')) {
      void callback(request, response);
      return;
    }
    void (async () => {
      const details = await provider.interactionDetails(request, response);
      const account = next;
      if (!account) {
        await provider.interactionFinished(request, response, {
          error: 'access_denied',
          error_description: 'No account chosen by the test.',
        });
        return;
      }
      accounts.set(account.sub, account);
      const grant = new provider.Grant({
        accountId: account.sub,
        clientId: String(details.params['client_id']),
      });
      grant.addOIDCScope(String(details.params['scope']));
      const grantId = await grant.save();
      await provider.interactionFinished(
        request,
        response,
        { login: { accountId: account.sub }, consent: { grantId } },
        { mergeWithLastSubmission: false },
      );
    })().catch(() => {
      response.statusCode = 500;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));

  return {
    issuer,
    clientId,
    clientSecret,
    signInAs: (account) => {
      next = account;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Follows the upstream's redirects with its cookies (a browser, minus the pages) from `location`
 * until one leaves the upstream: the redirect back to us, returned as path and query.
 */
export async function throughUpstream(location: string, issuer: string): Promise<URL> {
  const cookies = new Map<string, string>();
  let url = new URL(location);
  for (let hop = 0; hop < 10; hop += 1) {
    if (url.origin !== new URL(issuer).origin) {
      return url;
    }
    const response = await fetch(url, {
      redirect: 'manual',
      headers: { cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; ') },
    });
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const separator = pair!.indexOf('=');
      cookies.set(pair!.slice(0, separator), pair!.slice(separator + 1));
    }
    const next = response.headers.get('location');
    if (!next) {
      throw new Error(`The upstream answered ${response.status} without a redirect`);
    }
    url = new URL(next, url);
  }
  throw new Error('Too many redirects at the upstream');
}
