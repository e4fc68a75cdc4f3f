import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { ClientService } from '@gatehouse/identity';
import {
  AccessTokenVerifier,
  CurrentUser,
  GatehouseAuthModule,
  type GatehouseAuthOptions,
  HttpSessionIntrospector,
  IntrospectionRevocationCheck,
  PgRevocationFeed,
  RevocationList,
  remoteKeySource,
} from '@gatehouse/nest-auth';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  type CookieSession,
  givenCookieSession,
  givenTokens,
  givenUser,
  SESSION_REVOKED,
  type TokenResponse,
  withCookie,
} from '../support/http.js';
import { givenListeningAuthApi } from '../support/test-app.js';
import { freshDatabaseUrl } from '../support/test-database.js';

const CAPACITY = 2;
const UNAVAILABLE = {
  statusCode: 503,
  error: 'REVOCATION_CHECK_UNAVAILABLE',
  message: 'Revocations cannot be checked right now. Retry later.',
};

@Controller()
class WhoAmIController {
  @Get('whoami')
  whoami(@CurrentUser() caller: CurrentUser): { id: string; sessionId: string | null } {
    return { id: caller.id, sessionId: caller.sessionId };
  }
}

interface Platform {
  readonly issuer: string;
  readonly jwksUri: string;
  readonly audience: string;
  readonly introspectionEndpoint: string;
}

/**
 * A sibling app as another team would write it: only @gatehouse/nest-auth, the PostgreSQL feed, and
 * a revocation list of `CAPACITY` entries — fewer than the revocations in force, so it overflows as
 * soon as its feed backfills.
 */
async function givenSibling(
  databaseUrl: string,
  platform: Platform,
  extra: Partial<GatehouseAuthOptions> = {},
): Promise<NestFastifyApplication> {
  @Module({
    imports: [
      GatehouseAuthModule.forRoot({
        cookieName: 'gh_session',
        trustedOrigins: [],
        accessTokens: new AccessTokenVerifier({
          issuer: platform.issuer,
          audience: platform.audience,
          keys: remoteKeySource(platform.jwksUri),
        }),
        revocationFeed: new PgRevocationFeed({ databaseUrl, applicationName: 'overflow-sibling' }),
        revocationListCapacity: CAPACITY,
        ...extra,
      }),
    ],
    controllers: [WhoAmIController],
  })
  class SiblingModule {}

  const app = await NestFactory.create<NestFastifyApplication>(
    SiblingModule,
    new FastifyAdapter(),
    {
      logger: false,
    },
  );
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

describe('a sibling guard whose revocation list overflows', () => {
  let auth: NestFastifyApplication;
  let databaseUrl: string;
  let platform: Platform;
  let introspector: { clientId: string; clientSecret: string };
  const revoked: TokenResponse[] = [];
  let live: TokenResponse;
  let service: string;
  const siblings: NestFastifyApplication[] = [];

  beforeAll(async () => {
    // Its own database: the revocations in force are exactly the ones made here.
    databaseUrl = await freshDatabaseUrl('overflow', { migrated: true });
    const listening = await givenListeningAuthApi({ DATABASE_URL: databaseUrl });
    auth = listening.app;
    const discovery = await (
      await fetch(`${listening.issuer}/.well-known/openid-configuration`)
    ).json();
    const metadata = discovery as Record<string, string>;
    platform = {
      issuer: metadata['issuer']!,
      jwksUri: metadata['jwks_uri']!,
      audience: metadata['gatehouse_access_token_audience']!,
      introspectionEndpoint: metadata['introspection_endpoint']!,
    };
    const resourceServer = {
      name: 'overflow-sibling',
      grantTypes: ['client_credentials' as const],
      resourceServer: true,
    };
    const { client, clientSecret } = await auth.get(ClientService).create(resourceServer);
    introspector = { clientId: client.id, clientSecret: clientSecret! };
    service = (
      await auth.inject({
        method: 'POST',
        url: '/oauth/token',
        payload: { grant_type: 'client_credentials', ...toClientParams(introspector) },
      })
    ).json<{ access_token: string }>().access_token;

    const user = await givenUser(auth);
    for (let index = 0; index < CAPACITY + 1; index += 1) {
      const tokens = await givenTokens(auth, user);
      const response = await auth.inject({
        method: 'POST',
        url: '/oauth/revoke',
        payload: { token: tokens.refresh_token, client_id: 'gatehouse-first-party' },
      });
      expect(response.statusCode).toBe(200);
      revoked.push(tokens);
    }
    live = await givenTokens(auth, user);
  });
  afterAll(async () => {
    for (const app of siblings.reverse()) {
      await app.close();
    }
    await auth.close();
  });

  function toClientParams(client: { clientId: string; clientSecret: string }) {
    return { client_id: client.clientId, client_secret: client.clientSecret };
  }

  async function sibling(extra: Partial<GatehouseAuthOptions> = {}) {
    const app = await givenSibling(databaseUrl, platform, extra);
    siblings.push(app);
    // The backfill met more revocations in force than the list holds.
    const list = app.get(RevocationList);
    expect(list.size).toBe(CAPACITY);
    expect(list.overflowUntil).toEqual(expect.any(Number));
    return app;
  }

  const whoami = (app: NestFastifyApplication, token: string) =>
    app.inject({ method: 'GET', url: '/whoami', headers: { authorization: `Bearer ${token}` } });

  it('without a platform check, refuses every revoked session’s token, and answers 503 for the sessions it cannot vouch for', async () => {
    const app = await sibling();

    const refusals = [];
    for (const tokens of revoked) {
      const response = await whoami(app, tokens.access_token);
      refusals.push({ status: response.statusCode, body: response.json<object>() });
    }
    // Two are in the list; the third, which did not fit, is refused too: fail closed.
    expect(refusals.map(({ status }) => status).sort()).toEqual([401, 401, 503]);
    expect(refusals.filter(({ status }) => status === 401).map(({ body }) => body)).toEqual([
      SESSION_REVOKED,
      SESSION_REVOKED,
    ]);

    const unknown = await whoami(app, live.access_token);
    expect(unknown.statusCode).toBe(503);
    expect(unknown.json()).toEqual(UNAVAILABLE);
    const retryAfter = Number(unknown.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(900 + 60);
    expect(unknown.headers['www-authenticate']).toBeUndefined();

    // A service token has no session: nothing to check.
    expect((await whoami(app, service)).statusCode).toBe(200);
  });

  it('with revocationFallback, asks the platform instead: revoked sessions get 401, live ones pass', async () => {
    const app = await sibling({
      revocationFallback: new IntrospectionRevocationCheck({
        endpoint: platform.introspectionEndpoint,
        ...introspector,
      }),
    });

    for (const tokens of revoked) {
      const response = await whoami(app, tokens.access_token);
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual(SESSION_REVOKED);
    }
    const accepted = await whoami(app, live.access_token);
    expect(accepted.statusCode).toBe(200);
    expect(accepted.json()).toMatchObject({ sessionId: expect.any(String) });
  });

  it('checks a session cookie at the platform again, past the introspector’s cache', async () => {
    const user = await givenUser(auth);
    const kept: CookieSession = await givenCookieSession(auth, user);
    const ended: CookieSession = await givenCookieSession(auth, user);
    const sessions = new HttpSessionIntrospector({
      endpoint: platform.introspectionEndpoint,
      ...introspector,
      cacheMs: 60_000,
    });
    const app = await sibling({
      sessions,
      // Reconnects only after the test: the logout below never reaches this sibling as an event,
      // which would evict the cached answer by itself.
      revocationFeed: new PgRevocationFeed({
        databaseUrl,
        applicationName: 'overflow-sibling-cookies',
        reconnectDelayMs: 600_000,
      }),
    });
    const withSessionCookie = (session: CookieSession) =>
      app.inject({ method: 'GET', url: '/whoami', headers: { cookie: session.cookie } });
    expect((await withSessionCookie(ended)).statusCode).toBe(200);
    const [feed] = await auth.get(DataSource).query<{ terminated: boolean }[]>(
      `SELECT bool_or(pg_terminate_backend(pid)) AS terminated FROM pg_stat_activity
       WHERE application_name = 'overflow-sibling-cookies' AND datname = current_database()`,
    );
    expect(feed?.terminated).toBe(true);

    // The introspector still holds "active" for the ended session, and the overflowing list cannot
    // say otherwise: the guard asks auth-api again.
    const logout = await withCookie(auth, ended, 'POST', '/auth/logout');
    expect(logout.statusCode).toBe(204);
    const response = await withSessionCookie(ended);
    expect(response.statusCode).toBe(401);
    expect((await withSessionCookie(kept)).json()).toEqual({
      id: user.id,
      sessionId: kept.sessionId,
    });
  });
});
