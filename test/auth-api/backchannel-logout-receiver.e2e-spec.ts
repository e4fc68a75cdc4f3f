import { generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';

import { type INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SigningKeyService } from '@gatehouse/identity';
import { BackchannelLogoutModule, type VerifiedLogout } from '@gatehouse/nest-auth';
import { decodeJwt, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { authorizeInBrowser } from '../support/code-flow.js';
import { givenOperatorAt, givenUserAt, passwordGrantAt, postForm } from '../support/http.js';
import { freePort, givenListeningAdminApi, givenListeningAuthApi } from '../support/test-app.js';
import { eventually } from '../support/eventually.js';

const REDIRECT_URI = 'https://rp.example/callback';
const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/**
 * `BackchannelLogoutModule` of @gatehouse/nest-auth, in a sibling app (Express) that keeps its own
 * sessions: it receives the platform's real logout tokens, and refuses what §2.6 of OpenID Connect
 * Back-Channel Logout 1.0 says to refuse.
 */
describe('nest-auth back-channel logout receiver', () => {
  let auth: NestFastifyApplication;
  let admin: NestFastifyApplication;
  let sibling: INestApplication;
  let issuer: string;
  let adminUrl: string;
  let siblingUrl: string;
  let operatorToken: string;
  let clientId: string;
  const logouts: VerifiedLogout[] = [];

  beforeAll(async () => {
    const env = { OUTBOUND_ALLOW_PRIVATE: 'true', JOB_POLL_INTERVAL_MS: '200' };
    ({ app: auth, issuer } = await givenListeningAuthApi(env));
    ({ app: admin, url: adminUrl } = await givenListeningAdminApi(issuer, env));
    const operator = await givenOperatorAt(auth, issuer);
    operatorToken = ((await (await passwordGrantAt(issuer, operator)).json()) as never)[
      'access_token'
    ];
    const port = await freePort();
    siblingUrl = `http://127.0.0.1:${port}`;
    const registered = await fetch(`${adminUrl}/admin/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: `sibling ${randomUUID()}`,
        grantTypes: ['authorization_code'],
        scopes: ['openid'],
        redirectUris: [REDIRECT_URI],
        public: true,
        backchannelLogoutUri: `${siblingUrl}/auth/backchannel-logout`,
        backchannelLogoutSessionRequired: true,
      }),
    });
    expect(registered.status).toBe(201);
    clientId = ((await registered.json()) as { clientId: string }).clientId;

    @Module({
      imports: [
        BackchannelLogoutModule.forRoot({
          issuer,
          clientId,
          path: 'auth/backchannel-logout',
          onLogout: (logout) => {
            logouts.push(logout);
          },
        }),
      ],
    })
    class SiblingModule {}
    sibling = await NestFactory.create(SiblingModule, new ExpressAdapter(), { logger: false });
    await sibling.listen(port, '127.0.0.1');
  });
  afterAll(async () => {
    await sibling?.close();
    await admin?.close();
    await auth?.close();
  });

  async function signIn() {
    const user = await givenUserAt(issuer);
    const flow = await authorizeInBrowser(
      { issuer, clientId, redirectUri: REDIRECT_URI, scope: 'openid' },
      user,
    );
    const response = await postForm(`${issuer}/oauth/token`, {
      grant_type: 'authorization_code',
      code: flow.callback.searchParams.get('code')!,
      redirect_uri: REDIRECT_URI,
      code_verifier: flow.codeVerifier,
      client_id: clientId,
    });
    expect(response.status).toBe(200);
    const { id_token } = (await response.json()) as { id_token: string };
    return { user, idToken: id_token, sid: decodeJwt(id_token)['sid'] as string };
  }

  /** A token signed with the platform's active key (or `privateKey`), for the refusals. */
  async function mint(
    claims: JWTPayload,
    { typ = 'logout+jwt', privateKey }: { typ?: string; privateKey?: KeyObject } = {},
  ): Promise<string> {
    const active = await auth.get(SigningKeyService).activeKey();
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      iss: issuer,
      aud: clientId,
      sub: randomUUID(),
      sid: randomUUID(),
      events: { [LOGOUT_EVENT]: {} },
      jti: randomUUID(),
      iat: now,
      exp: now + 120,
      ...claims,
    })
      .setProtectedHeader({ alg: active.alg, kid: active.kid, typ })
      .sign(privateKey ?? active.privateKey);
  }

  const post = (form: Record<string, string>) =>
    postForm(`${siblingUrl}/auth/backchannel-logout`, form);

  async function expectRefused(response: Response): Promise<void> {
    expect(response.status).toBe(400);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toMatchObject({
      error: 'invalid_request',
      error_description: expect.any(String),
    });
  }

  it("accepts the platform's logout token when the session ends, with the ID token's sid", async () => {
    const { user, sid } = await signIn();
    const revoked = await fetch(`${adminUrl}/admin/sessions/${sid}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'test' }),
    });
    expect(revoked.status).toBe(204);
    await eventually(
      () => logouts.some((one) => one.sid === sid),
      (arrived) => arrived,
    );
    expect(logouts.find((one) => one.sid === sid)).toMatchObject({
      iss: issuer,
      sub: user.id,
      sid,
      jti: expect.any(String),
    });
  });

  it('answers 200 with no-store, then refuses the same jti again', async () => {
    const token = await mint({});
    const accepted = await post({ logout_token: token });
    expect(accepted.status).toBe(200);
    expect(accepted.headers.get('cache-control')).toBe('no-store');
    await expectRefused(await post({ logout_token: token }));
  });

  it('refuses a token for another audience', async () => {
    await expectRefused(await post({ logout_token: await mint({ aud: 'another-client' }) }));
  });

  it('refuses a token with a nonce, without events, or naming neither sub nor sid', async () => {
    await expectRefused(await post({ logout_token: await mint({ nonce: 'n-0S6_WzA2Mj' }) }));
    await expectRefused(await post({ logout_token: await mint({ events: {} }) }));
    await expectRefused(
      await post({ logout_token: await mint({ sub: undefined, sid: undefined }) }),
    );
  });

  it("refuses the platform's own ID token (typ JWT) and a token typed for something else", async () => {
    const { idToken } = await signIn();
    await expectRefused(await post({ logout_token: idToken }));
    await expectRefused(await post({ logout_token: await mint({}, { typ: 'JWT' }) }));
  });

  it('refuses a bad signature, an expired token and a missing logout_token', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const active = await auth.get(SigningKeyService).activeKey();
    const forged =
      active.alg === 'ES256'
        ? await mint({}, { privateKey })
        : `${(await mint({})).slice(0, -4)}AAAA`;
    await expectRefused(await post({ logout_token: forged }));
    const past = Math.floor(Date.now() / 1000) - 3600;
    await expectRefused(await post({ logout_token: await mint({ iat: past, exp: past + 120 }) }));
    await expectRefused(await post({}));
  });
});
