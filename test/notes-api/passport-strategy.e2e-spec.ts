import { Controller, Get, Module, Req, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AuthGuard } from '@nestjs/passport';
import {
  AccessTokenVerifier,
  Caller,
  CurrentUser,
  GatehouseAuthModule,
  PgRevocationFeed,
  Public,
  RequireCapabilities,
  RequireScopes,
  remoteKeySource,
  RevocationList,
} from '@gatehouse/nest-auth';
import { GatehouseJwtStrategy } from '@gatehouse/nest-auth/passport';
import { ClientService, SigningKeyService } from '@gatehouse/identity';
import type { LightMyRequestResponse } from 'fastify';
import {
  base64url,
  type CryptoKey,
  decodeJwt,
  exportSPKI,
  generateKeyPair,
  importJWK,
  type JWK,
  SignJWT,
  UnsecuredJWT,
} from 'jose';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { givenTokens, givenUser, SESSION_REVOKED, type TestUser } from '../support/http.js';
import { givenListeningAuthApi, givenNotesApi } from '../support/test-app.js';
import { workerDatabaseUrl } from '../support/test-database.js';

const seen: { route: string; user: Caller; passportUser: unknown }[] = [];

/** The same routes twice, once behind the global guard and once behind AuthGuard('gatehouse'). */
@Controller('probe')
class ProbeController {
  @Get('native')
  native(@CurrentUser() user: Caller, @Req() request: { user?: unknown }): { id: string } {
    seen.push({ route: 'native', user, passportUser: request.user });
    return { id: user.id };
  }

  @Get('passport')
  @UseGuards(AuthGuard('gatehouse'))
  passport(@CurrentUser() user: Caller, @Req() request: { user?: unknown }): { id: string } {
    seen.push({ route: 'passport', user, passportUser: request.user });
    return { id: user.id };
  }

  @Get('native/stats')
  @RequireScopes('notes:read')
  nativeStats(): { ok: true } {
    return { ok: true };
  }

  @Get('passport/stats')
  @UseGuards(AuthGuard('gatehouse'))
  @RequireScopes('notes:read')
  passportStats(): { ok: true } {
    return { ok: true };
  }

  @Get('native/moderation')
  @RequireCapabilities('notes:moderate')
  nativeModeration(): { ok: true } {
    return { ok: true };
  }

  @Get('passport/moderation')
  @UseGuards(AuthGuard('gatehouse'))
  @RequireCapabilities('notes:moderate')
  passportModeration(): { ok: true } {
    return { ok: true };
  }

  @Public()
  @Get('public')
  open(@CurrentUser() user: Caller | undefined): { caller: boolean } {
    return { caller: user !== undefined };
  }
}

/** A whole controller opted into Passport. */
@Controller('passport-controller')
@UseGuards(AuthGuard('gatehouse'))
class PassportController {
  @Get()
  whoami(@CurrentUser() user: Caller): { id: string } {
    return { id: user.id };
  }
}

async function givenProbeApp(issuer: string): Promise<NestFastifyApplication> {
  const databaseUrl = await workerDatabaseUrl();
  @Module({
    imports: [
      GatehouseAuthModule.forRoot({
        cookieName: 'gh_session',
        trustedOrigins: [],
        accessTokens: new AccessTokenVerifier({
          issuer,
          audience: 'gatehouse',
          keys: remoteKeySource(`${issuer}/.well-known/jwks.json`),
        }),
        revocationFeed: new PgRevocationFeed({ databaseUrl }),
        capabilities: { moderator: ['notes:moderate'] },
      }),
    ],
    controllers: [ProbeController, PassportController],
    providers: [GatehouseJwtStrategy],
  })
  class ProbeModule {}
  const app = await NestFactory.create<NestFastifyApplication>(ProbeModule, new FastifyAdapter(), {
    logger: false,
  });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

/** What a client sees of an answer: status, body and the headers the guards set. */
function answer(response: LightMyRequestResponse) {
  return {
    status: response.statusCode,
    body: response.json<unknown>(),
    challenge: response.headers['www-authenticate'],
    retryAfter: response.headers['retry-after'],
  };
}

const segment = (value: object) => base64url.encode(JSON.stringify(value));
const encoder = new TextEncoder();

describe("AuthGuard('gatehouse') (GatehouseJwtStrategy, passport-jwt) beside the native guard", () => {
  let auth: NestFastifyApplication;
  let issuer: string;
  let notes: NestFastifyApplication;
  let probe: NestFastifyApplication;
  let user: TestUser;
  let token: string;

  beforeAll(async () => {
    ({ app: auth, issuer } = await givenListeningAuthApi());
    notes = await givenNotesApi(issuer);
    probe = await givenProbeApp(issuer);
    user = await givenUser(auth);
    token = (await givenTokens(auth, user)).access_token;
  });
  afterAll(async () => {
    await probe.close();
    await notes.close();
    await auth.close();
  });

  const get = (app: NestFastifyApplication, url: string, authorization?: string) =>
    app.inject({ method: 'GET', url, headers: authorization ? { authorization } : {} });
  /** notes-api's native GET /whoami and its Passport twin, with the same Authorization header. */
  const bothWhoami = async (authorization?: string) => [
    answer(await get(notes, '/whoami', authorization)),
    answer(await get(notes, '/whoami/passport', authorization)),
  ];

  async function serviceToken(scopes: string[]): Promise<string> {
    const { client, clientSecret } = await auth.get(ClientService).create({
      name: 'reporting',
      grantTypes: ['client_credentials'],
      scopes,
    });
    const response = await auth.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: {
        grant_type: 'client_credentials',
        client_id: client.id,
        client_secret: clientSecret,
      },
    });
    return response.json<{ access_token: string }>().access_token;
  }

  describe('GET /whoami/passport (notes-api)', () => {
    it('answers what GET /whoami answers, for a user token and for a service token', async () => {
      for (const bearer of [token, await serviceToken(['notes:read'])]) {
        const [native, passport] = await bothWhoami(`Bearer ${bearer}`);
        expect(native!.status).toBe(200);
        expect(passport).toEqual(native);
      }
      expect((await get(notes, '/whoami/passport', `Bearer ${token}`)).json()).toEqual({
        id: user.id,
        kind: 'user',
      });
    });

    it('is documented in Swagger beside GET /whoami, with the same response', async () => {
      const document = (await notes.inject({ method: 'GET', url: '/docs-json' })).json<{
        paths: Record<string, { get: { responses: Record<string, unknown>; security?: unknown } }>;
      }>();
      const whoami = document.paths['/whoami']!.get;
      const passport = document.paths['/whoami/passport']!.get;
      expect(passport.responses['200']).toEqual(whoami.responses['200']);
      expect(passport.responses['401']).toBeDefined();
      expect(passport.security).toEqual([{ bearer: [] }]);
    });

    it('answers a request without a token 401 MISSING_CREDENTIALS with the bare challenge', async () => {
      for (const authorization of [undefined, 'Bearer', `Basic ${token}`, `Bearer ${token} x`]) {
        const [native, passport] = await bothWhoami(authorization);
        expect(passport).toEqual(native);
        expect(passport).toEqual({
          status: 401,
          body: {
            statusCode: 401,
            error: 'MISSING_CREDENTIALS',
            message: 'Authentication is required.',
          },
          challenge: 'Bearer realm="gatehouse"',
          retryAfter: undefined,
        });
      }
    });
  });

  describe('a refused token', () => {
    const genuineClaims = () => decodeJwt(token);

    async function activePublicJwk(): Promise<JWK & { kid: string; x: string }> {
      const row = (await auth.get(SigningKeyService).list()).find((key) => key.status === 'active');
      return row!.publicJwk as JWK & { kid: string; x: string };
    }

    async function signedByTheApp(
      claims: Record<string, unknown>,
      header: Record<string, unknown> = { typ: 'at+jwt' },
    ): Promise<string> {
      const { kid, alg, key } = await auth.get(SigningKeyService).activeKey();
      return new SignJWT(claims).setProtectedHeader({ ...header, alg, kid }).sign(key);
    }

    async function hs256KeyedWith(secret: Uint8Array): Promise<string> {
      const { kid } = await activePublicJwk();
      return new SignJWT(genuineClaims())
        .setProtectedHeader({ alg: 'HS256', kid, typ: 'at+jwt' })
        .sign(secret);
    }

    const without = (record: object, name: string) =>
      Object.fromEntries(Object.entries(record).filter(([key]) => key !== name));
    const now = () => Math.floor(Date.now() / 1000);

    it('is signed by the app key with nothing wrong: accepted by both (control)', async () => {
      const [native, passport] = await bothWhoami(
        `Bearer ${await signedByTheApp(genuineClaims())}`,
      );
      expect([native!.status, passport!.status]).toEqual([200, 200]);
    });

    it.each<[string, string, () => Promise<string>]>([
      ['INVALID_TOKEN', 'is not a JWT at all', () => Promise.resolve('not-a-jwt')],
      [
        'INVALID_TOKEN',
        'is unsigned (alg none)',
        () => Promise.resolve(new UnsecuredJWT(genuineClaims()).encode()),
      ],
      [
        'INVALID_TOKEN',
        'is unsigned (alg none) but names the active kid and typ at+jwt',
        async () => {
          const { kid } = await activePublicJwk();
          return `${segment({ alg: 'none', kid, typ: 'at+jwt' })}.${segment(genuineClaims())}.`;
        },
      ],
      [
        'INVALID_TOKEN',
        'is HS256 keyed with the public key PEM',
        async () => {
          const publicKey = await importJWK(await activePublicJwk(), 'ES256', {
            extractable: true,
          });
          return hs256KeyedWith(encoder.encode(await exportSPKI(publicKey as CryptoKey)));
        },
      ],
      [
        'INVALID_TOKEN',
        'is HS256 keyed with the JSON of the public JWK',
        async () => hs256KeyedWith(encoder.encode(JSON.stringify(await activePublicJwk()))),
      ],
      [
        'INVALID_TOKEN',
        'is signed by a stranger key under an unknown kid',
        async () => {
          const { privateKey } = await generateKeyPair('ES256');
          return new SignJWT(genuineClaims())
            .setProtectedHeader({ alg: 'ES256', kid: 'stranger-key', typ: 'at+jwt' })
            .sign(privateKey);
        },
      ],
      [
        'INVALID_TOKEN',
        'is signed by a stranger key that claims the active kid',
        async () => {
          const { privateKey } = await generateKeyPair('ES256');
          const { kid } = await activePublicJwk();
          return new SignJWT(genuineClaims())
            .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
            .sign(privateKey);
        },
      ],
      [
        'INVALID_TOKEN',
        'has another audience',
        () => signedByTheApp({ ...genuineClaims(), aud: 'other' }),
      ],
      [
        'INVALID_TOKEN',
        'has another issuer',
        () => signedByTheApp({ ...genuineClaims(), iss: 'http://elsewhere.example' }),
      ],
      [
        'INVALID_TOKEN',
        'is typed JWT instead of at+jwt',
        () => signedByTheApp(genuineClaims(), { typ: 'JWT' }),
      ],
      ['INVALID_TOKEN', 'has no typ', () => signedByTheApp(genuineClaims(), {})],
      ['INVALID_TOKEN', 'has no exp', () => signedByTheApp(without(genuineClaims(), 'exp'))],
      [
        'INVALID_TOKEN',
        'has no client_id',
        () => signedByTheApp(without(genuineClaims(), 'client_id')),
      ],
      [
        'INVALID_TOKEN',
        'is not valid before a minute from now',
        () => signedByTheApp({ ...genuineClaims(), nbf: now() + 60 }),
      ],
      [
        'TOKEN_EXPIRED',
        'expired a minute ago (beyond the 30 s tolerance)',
        () => signedByTheApp({ ...genuineClaims(), iat: now() - 960, exp: now() - 60 }),
      ],
    ])(
      'answers 401 %s with the invalid_token challenge, as GET /whoami does, when it %s',
      async (code, _name, forge) => {
        const [native, passport] = await bothWhoami(`Bearer ${await forge()}`);
        expect(passport).toEqual(native);
        expect(passport).toMatchObject({
          status: 401,
          body: { statusCode: 401, error: code },
          challenge: 'Bearer realm="gatehouse", error="invalid_token"',
        });
      },
    );

    it('answers a revoked session 401 SESSION_REVOKED once the feed brings the revocation', async () => {
      const tokens = await givenTokens(auth, user);
      const authorization = `Bearer ${tokens.access_token}`;
      expect((await get(notes, '/whoami/passport', authorization)).statusCode).toBe(200);
      const revoked = await fetch(`${issuer}/oauth/revoke`, {
        method: 'POST',
        body: new URLSearchParams({
          token: tokens.refresh_token,
          client_id: 'gatehouse-first-party',
        }),
      });
      expect(revoked.status).toBe(200);
      const revokedAt = Date.now();
      let response = await get(notes, '/whoami/passport', authorization);
      while (response.statusCode === 200 && Date.now() - revokedAt < 5000) {
        await new Promise((wake) => setTimeout(wake, 5));
        response = await get(notes, '/whoami/passport', authorization);
      }
      expect(answer(response)).toEqual({
        status: 401,
        body: SESSION_REVOKED,
        challenge: 'Bearer realm="gatehouse", error="invalid_token"',
        retryAfter: undefined,
      });
      const [native, passport] = await bothWhoami(authorization);
      expect(passport).toEqual(native);
    });
  });

  describe('in one app with the native guard (probe app)', () => {
    it('hands the route the very CurrentUser the native guard builds, also as request.user', async () => {
      seen.length = 0;
      const fresh = (await givenTokens(auth, user)).access_token;
      // Passport first (passport-jwt verifies it), then native, then Passport again.
      for (const route of ['passport', 'native', 'passport']) {
        expect((await get(probe, `/probe/${route}`, `Bearer ${fresh}`)).statusCode).toBe(200);
      }
      const [first, native, again] = seen;
      expect(first!.user).toBeInstanceOf(Caller);
      expect(first!.user).toEqual(native!.user);
      // Once verified, either path recalls the same claims and so the same Caller.
      expect(native!.user).toBe(again!.user);
      expect(first!.passportUser).toBe(first!.user);
      expect(native!.passportUser).toBeUndefined();
      expect(native!.user).toMatchObject({
        id: user.id,
        kind: 'user',
        credential: 'bearer',
        sessionId: decodeJwt(fresh)['sid'],
        clientId: 'gatehouse-first-party',
        roles: [],
        scopes: ['account'],
      });
    });

    it('enforces @RequireScopes as the native guard does: 403 with the insufficient_scope challenge', async () => {
      for (const [bearer, status] of [
        [await serviceToken([]), 403],
        [token, 403],
        [await serviceToken(['notes:read']), 200],
      ] as const) {
        const native = answer(await get(probe, '/probe/native/stats', `Bearer ${bearer}`));
        const passport = answer(await get(probe, '/probe/passport/stats', `Bearer ${bearer}`));
        expect(passport).toEqual(native);
        expect(passport.status).toBe(status);
      }
      const refused = answer(await get(probe, '/probe/passport/stats', `Bearer ${token}`));
      expect(refused).toEqual({
        status: 403,
        body: { statusCode: 403, error: 'FORBIDDEN', message: 'Missing scope: notes:read.' },
        challenge: 'Bearer realm="gatehouse", error="insufficient_scope", scope="notes:read"',
        retryAfter: undefined,
      });
    });

    it('enforces @RequireCapabilities as the native guard does', async () => {
      const moderator = await givenUser(auth);
      await auth
        .get(DataSource)
        .query(`UPDATE users SET roles = '{moderator}' WHERE id = $1`, [moderator.id]);
      for (const [bearer, status] of [
        [token, 403],
        [await serviceToken(['notes:read']), 403],
        [(await givenTokens(auth, moderator)).access_token, 200],
      ] as const) {
        const native = answer(await get(probe, '/probe/native/moderation', `Bearer ${bearer}`));
        const passport = answer(await get(probe, '/probe/passport/moderation', `Bearer ${bearer}`));
        expect(passport).toEqual(native);
        expect(passport.status).toBe(status);
      }
      expect((await get(probe, '/probe/passport/moderation', `Bearer ${token}`)).json()).toEqual({
        statusCode: 403,
        error: 'FORBIDDEN',
        message: 'Missing capability: notes:moderate.',
      });
    });

    it('fails closed like the native guard while the revocation feed cannot vouch: 503 with Retry-After', async () => {
      const list = probe.get(RevocationList);
      list.awaitFeed();
      try {
        const native = answer(await get(probe, '/probe/native', `Bearer ${token}`));
        const passport = answer(await get(probe, '/probe/passport', `Bearer ${token}`));
        expect(passport).toEqual(native);
        expect(passport).toMatchObject({
          status: 503,
          body: { statusCode: 503, error: 'REVOCATION_CHECK_UNAVAILABLE' },
          retryAfter: expect.any(String),
        });
      } finally {
        list.feedCaughtUp();
      }
      expect((await get(probe, '/probe/passport', `Bearer ${token}`)).statusCode).toBe(200);
    });

    it('keeps public routes public and the rest behind the native guard; a controller can opt in whole', async () => {
      expect(answer(await get(probe, '/probe/public'))).toMatchObject({
        status: 200,
        body: { caller: false },
      });
      expect((await get(probe, '/probe/native')).statusCode).toBe(401);
      expect(answer(await get(probe, '/passport-controller'))).toEqual(
        answer(await get(probe, '/probe/native')),
      );
      expect(
        (await get(probe, '/passport-controller', `Bearer ${token}`)).json<{ id: string }>(),
      ).toEqual({ id: user.id });
    });
  });
});
