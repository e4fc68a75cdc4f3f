import { randomUUID } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { GATEHOUSE_CONFIG, type GatehouseConfig } from '@gatehouse/config';
import { ClientService, SigningKeyService } from '@gatehouse/identity';
import { decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { givenTokens, givenUser, type TestUser } from '../support/http.js';
import { givenAuthApi } from '../support/test-app.js';
import { freshDatabaseUrl } from '../support/test-database.js';

const SECOND = 1000;
/** An unknown kid re-reads the key set only when it is older than this. */
const REFETCH_COOLDOWN = 30 * SECOND;
const FORGED = 25;

/**
 * auth-api verifies bearer tokens twice over: its own issuer for introspection, nest-auth's
 * `localKeySource` for its guarded routes (`/me`). Both read the key set from the database
 * (`SigningKeyService.jwks`); a token naming a kid nobody published must not make either read it
 * again and again.
 */
describe('verification keys on auth-api, for tokens with an unknown kid', () => {
  let app: NestFastifyApplication;
  let keys: SigningKeyService;
  let config: GatehouseConfig;
  let user: TestUser;
  let introspector: { id: string; secret: string };
  /** Fake wall-clock time, moving only forward: each test starts with every cache stale. */
  let now = Date.now();

  beforeAll(async () => {
    // Its own database: the rotation below must not disturb the keys of other files.
    app = await givenAuthApi({ DATABASE_URL: await freshDatabaseUrl('kid', { migrated: true }) });
    keys = app.get(SigningKeyService);
    config = app.get<GatehouseConfig>(GATEHOUSE_CONFIG);
    user = await givenUser(app);
    const resourceServer = {
      name: 'kid-refetch-introspector',
      grantTypes: ['client_credentials' as const],
      resourceServer: true,
    };
    const { client, clientSecret } = await app.get(ClientService).create(resourceServer);
    introspector = { id: client.id, secret: clientSecret! };
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });
  afterAll(() => app.close());

  function startClock(): void {
    now += 10 * 60 * SECOND;
    vi.useFakeTimers({ toFake: ['Date'], now });
  }

  function advance(ms: number): void {
    vi.setSystemTime(Date.now() + ms);
  }

  /** A well-formed access token for our issuer and audience, signed by a key nobody published. */
  async function forged(): Promise<string> {
    const { privateKey } = await generateKeyPair('ES256');
    return new SignJWT({ client_id: 'gatehouse-first-party', scope: '', roles: [] })
      .setProtectedHeader({ alg: 'ES256', kid: `forged-${randomUUID()}`, typ: 'at+jwt' })
      .setIssuer(config.issuer)
      .setAudience(config.tokens.audience)
      .setSubject(user.id)
      .setIssuedAt()
      .setExpirationTime('10m')
      .setJti(randomUUID())
      .sign(privateKey);
  }

  async function introspect(token: string): Promise<{ active: boolean }> {
    const response = await app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      payload: { token, client_id: introspector.id, client_secret: introspector.secret },
    });
    expect(response.statusCode).toBe(200);
    return response.json<{ active: boolean }>();
  }

  async function isActive(token: string): Promise<boolean> {
    return (await introspect(token)).active;
  }

  async function me(token: string): Promise<number> {
    const response = await app.inject({
      method: 'GET',
      url: '/me',
      headers: { authorization: `Bearer ${token}` },
    });
    return response.statusCode;
  }

  /** Sends `count` forged tokens at once to `verify`, each answered as invalid. */
  async function flood(verify: (token: string) => Promise<unknown>, expected: unknown) {
    const tokens = await Promise.all(Array.from({ length: FORGED }, () => forged()));
    expect(await Promise.all(tokens.map(verify))).toEqual(Array(FORGED).fill(expected));
  }

  it.each([
    ['POST /oauth/introspect (the issuer)', isActive, false, true],
    ['GET /me (nest-auth localKeySource)', me, 401, 200],
  ] as const)(
    '%s reads the key set at most once per 30 s however many unknown kids arrive',
    async (_route, verify, refused, accepted) => {
      startClock();
      const genuine = (await givenTokens(app, user)).access_token;
      expect(await verify(genuine)).toEqual(accepted);
      const reads = vi.spyOn(keys, 'jwks');

      await flood(verify, refused);
      advance(REFETCH_COOLDOWN - SECOND);
      await flood(verify, refused);
      expect(reads).not.toHaveBeenCalled();

      advance(2 * SECOND);
      await flood(verify, refused);
      await flood(verify, refused);
      expect(reads).toHaveBeenCalledTimes(1);

      expect(await verify(genuine)).toEqual(accepted);
      expect(reads).toHaveBeenCalledTimes(1);
    },
  );

  it('accepts the tokens of a rotated-in key at once: it was published before it signed', async () => {
    startClock();
    const before = (await givenTokens(app, user)).access_token;
    expect(await introspect(before)).toMatchObject({ active: true });
    expect(await me(before)).toBe(200);
    const reads = vi.spyOn(keys, 'jwks');

    const rotation = await keys.rotate();
    const after = (await givenTokens(app, user)).access_token;
    expect(decodeProtectedHeader(after).kid).toBe(rotation.active);
    expect(await introspect(after)).toMatchObject({ active: true });
    expect(await me(after)).toBe(200);
    expect(reads).not.toHaveBeenCalled();
  });

  it('learns a key it has never seen at the first refetch the cooldown allows', async () => {
    startClock();
    const before = (await givenTokens(app, user)).access_token;
    expect(await introspect(before)).toMatchObject({ active: true });
    expect(await me(before)).toBe(200);
    const reads = vi.spyOn(keys, 'jwks');

    // Two rotations in a row: the key that signs now was created after the sets were read.
    await keys.rotate();
    const rotation = await keys.rotate();
    const fresh = (await givenTokens(app, user)).access_token;
    expect(decodeProtectedHeader(fresh).kid).toBe(rotation.active);
    expect(await introspect(fresh)).toEqual({ active: false });
    expect(await me(fresh)).toBe(401);
    expect(reads).not.toHaveBeenCalled();

    advance(REFETCH_COOLDOWN + SECOND);
    expect(await introspect(fresh)).toMatchObject({ active: true });
    expect(await me(fresh)).toBe(200);
    expect(reads).toHaveBeenCalledTimes(2);
  });
});
