import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';

import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

import { freePort } from './test-app.js';

/** How the fake upstream's next ID token is wrong (or `valid`). */
export type IdTokenFlaw = 'valid' | 'wrong-nonce' | 'wrong-audience' | 'expired' | 'unknown-key';

export interface FakeOp {
  readonly issuer: string;
  readonly clientId: string;
  /** The nonce the relying party asked for (from the authorization URL it redirected to). */
  expectNonce(nonce: string): void;
  /** The next token answer's ID token, for this account, with this flaw. */
  nextIdToken(
    flaw: IdTokenFlaw,
    claims: { sub: string; email?: string; email_verified?: boolean },
  ): void;
  close(): Promise<void>;
}

/**
 * A hostile upstream the test controls: discovery, JWKS and a token endpoint that answers whatever ID
 * token the test asked for, signed with jose (right key or not, right audience or not…). No
 * authorization endpoint of its own is visited: the test makes up the code.
 */
export async function givenFakeOp(): Promise<FakeOp> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = 'gatehouse-rp';
  const published = await generateKeyPair('ES256', { extractable: true });
  const stranger = await generateKeyPair('ES256', { extractable: true });
  const jwk: JWK = {
    ...(await exportJWK(published.publicKey)),
    kid: 'published',
    alg: 'ES256',
    use: 'sig',
  };
  let nonce = '';
  let next: { flaw: IdTokenFlaw; claims: Record<string, unknown> & { sub: string } } | null = null;

  async function idToken(): Promise<string> {
    const { flaw, claims } = next!;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ ...claims, nonce: flaw === 'wrong-nonce' ? 'not-the-nonce' : nonce })
      .setProtectedHeader({ alg: 'ES256', kid: 'published' })
      .setIssuer(issuer)
      .setSubject(claims.sub)
      .setAudience(flaw === 'wrong-audience' ? 'someone-else' : clientId)
      .setIssuedAt(flaw === 'expired' ? now - 7200 : now)
      .setExpirationTime(flaw === 'expired' ? now - 3600 : now + 300)
      .sign(flaw === 'unknown-key' ? stranger.privateKey : published.privateKey);
  }

  const json = (body: unknown) => JSON.stringify(body);
  const server: Server = createServer((request, response) => {
    void (async () => {
      const path = new URL(request.url ?? '/', issuer).pathname;
      response.setHeader('content-type', 'application/json');
      switch (path) {
        case '/.well-known/openid-configuration':
          response.end(
            json({
              issuer,
              authorization_endpoint: `${issuer}/authorize`,
              token_endpoint: `${issuer}/token`,
              jwks_uri: `${issuer}/jwks`,
              response_types_supported: ['code'],
              subject_types_supported: ['public'],
              id_token_signing_alg_values_supported: ['ES256'],
              code_challenge_methods_supported: ['S256'],
            }),
          );
          return;
        case '/jwks':
          response.end(json({ keys: [jwk] }));
          return;
        case '/token':
          // The body (code, verifier) is not checked: this upstream answers what the test said.
          request.resume();
          await new Promise((resolve) => request.once('end', resolve));
          if (!next) {
            response.statusCode = 400;
            response.end(json({ error: 'invalid_grant' }));
            return;
          }
          response.setHeader('cache-control', 'no-store');
          response.end(
            json({
              access_token: randomUUID(),
              token_type: 'Bearer',
              expires_in: 300,
              id_token: await idToken(),
            }),
          );
          return;
        default:
          response.statusCode = 404;
          response.end(json({ error: 'not_found' }));
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    issuer,
    clientId,
    expectNonce: (value) => {
      nonce = value;
    },
    nextIdToken: (flaw, claims) => {
      next = { flaw, claims };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
