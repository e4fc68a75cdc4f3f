import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Clock, deriveKey, open, SigningKeyService } from '@gatehouse/identity';
import type { SigningKey } from '@gatehouse/persistence';
import {
  calculateJwkThumbprint,
  createRemoteJWKSet,
  decodeProtectedHeader,
  type JWK,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { afterAll, afterEach, describe, expect, inject, it, vi } from 'vitest';

import { givenUser, type TestUser } from '../support/http.js';
import { createAuthApi } from '../../apps/auth-api/src/auth-api.factory.js';
import { givenAuthApi, testConfig } from '../support/test-app.js';
import { freshDatabaseUrl } from '../support/test-database.js';

const FIRST_PARTY = 'gatehouse-first-party';
const SECOND = 1000;
/** ACCESS_TOKEN_TTL_SECONDS (default) + the 300 s retirement margin of SigningKeyService. */
const RETIREMENT_WINDOW = (900 + 300) * SECOND;
/** The signer's cache of the active key. */
const SIGNER_CACHE = 60 * SECOND;

interface KeysApp {
  readonly app: NestFastifyApplication;
  readonly keys: SigningKeyService;
  readonly issuer: string;
  readonly databaseUrl: string;
}

/** A TCP port nobody listens on right now (the OS picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('port')),
      );
    });
  });
}

const started: NestFastifyApplication[] = [];

/**
 * A listening auth-api on a database of its own (or on `databaseUrl`): at most one active and one
 * next key exist per database, so rotations never disturb another file's keys.
 */
async function givenKeysApp(
  env: Record<string, string> = {},
  databaseUrl?: string,
): Promise<KeysApp> {
  const url = databaseUrl ?? (await freshDatabaseUrl('keys', { migrated: true }));
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const app = await givenAuthApi({ DATABASE_URL: url, ISSUER: issuer, ...env });
  started.push(app);
  await app.listen(port, '127.0.0.1');
  return { app, keys: app.get(SigningKeyService), issuer, databaseUrl: url };
}

afterAll(async () => {
  for (const app of started.reverse()) {
    await app.close();
  }
});

async function accessToken(app: NestFastifyApplication, user: TestUser): Promise<string> {
  const response = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    payload: {
      grant_type: 'password',
      client_id: FIRST_PARTY,
      username: user.email,
      password: user.password,
    },
  });
  expect(response.statusCode).toBe(200);
  return response.json<{ access_token: string }>().access_token;
}

/** A copy of `record` without the named properties. */
function without(record: object, ...names: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([name]) => !names.includes(name)));
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid;

function byStatus(rows: readonly SigningKey[]): Record<string, string[]> {
  const grouped: Record<string, string[]> = {};
  for (const row of rows) {
    (grouped[row.status] ??= []).push(row.kid);
  }
  return grouped;
}

async function publishedKids(app: NestFastifyApplication): Promise<string[]> {
  const response = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  expect(response.statusCode).toBe(200);
  return response
    .json<{ keys: JWK[] }>()
    .keys.map((key) => key.kid!)
    .sort();
}

/** A resource server's verifier: the JWKS and audience it learns from the discovery document. */
async function remoteVerifier(
  issuer: string,
  jwksOptions: Parameters<typeof createRemoteJWKSet>[1] = {},
): Promise<(token: string) => Promise<{ alg: string; kid: string | undefined; sub: string }>> {
  const response = await fetch(`${issuer}/.well-known/openid-configuration`);
  expect(response.status).toBe(200);
  const discovery = (await response.json()) as {
    issuer: string;
    jwks_uri: string;
    gatehouse_access_token_audience: string;
  };
  const jwks: JWTVerifyGetKey = createRemoteJWKSet(new URL(discovery.jwks_uri), jwksOptions);
  return async (token) => {
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: discovery.issuer,
      audience: discovery.gatehouse_access_token_audience,
      typ: 'at+jwt',
      algorithms: ['ES256', 'RS256', 'EdDSA'],
    });
    return { alg: protectedHeader.alg, kid: protectedHeader.kid, sub: payload.sub! };
  };
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('SigningKeyService.ensureKeys at start-up', () => {
  it('creates one active and one next ES256 key, both published in the JWKS', async () => {
    const { app, keys } = await givenKeysApp();
    const rows = await keys.list();
    expect(
      rows
        .map(({ status, alg }) => ({ status, alg }))
        .sort((a, b) => a.status.localeCompare(b.status)),
    ).toEqual([
      { status: 'active', alg: 'ES256' },
      { status: 'next', alg: 'ES256' },
    ]);
    expect(await publishedKids(app)).toEqual(rows.map(({ kid }) => kid).sort());
    for (const row of rows) {
      // RFC 7638: the kid is the thumbprint of the public key.
      expect(row.publicJwk['kid']).toBe(row.kid);
      expect(await calculateJwkThumbprint(without(row.publicJwk, 'kid', 'alg', 'use'))).toBe(
        row.kid,
      );
    }
    const response = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(response.json<{ keys: JWK[] }>().keys).toEqual(
      expect.arrayContaining(rows.map((row) => row.publicJwk)),
    );
  });

  it('creates no further key when another instance starts on the same database', async () => {
    const first = await givenKeysApp();
    const before = await first.keys.list();
    const second = await givenKeysApp({}, first.databaseUrl);
    expect(byStatus(await second.keys.list())).toEqual(byStatus(before));
    const user = await givenUser(second.app);
    expect(kidOf(await accessToken(second.app, user))).toBe(byStatus(before)['active']![0]);
  });
});

describe('signing_keys.private_key_encrypted', () => {
  it('holds the private keys sealed, not as JWK text', async () => {
    const { keys } = await givenKeysApp();
    const rows = await keys.list();
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(Buffer.isBuffer(row.privateKeyEncrypted)).toBe(true);
      expect(row.privateKeyEncrypted.length).toBeGreaterThanOrEqual(100);
      const text = row.privateKeyEncrypted.toString('utf8');
      expect(text).not.toContain('"d"');
      expect(text).not.toContain('"kty"');
    }
  });

  it('opens with the key-encryption key, bound to its kid, to the private half of the published key', async () => {
    const { keys } = await givenKeysApp();
    const [first, second] = await keys.list();
    const sealingKey = deriveKey(Buffer.from(inject('keyEncryptionKey'), 'base64'), 'signing-keys');
    for (const row of [first!, second!]) {
      const privateJwk = JSON.parse(
        open(sealingKey, row.privateKeyEncrypted, row.kid).toString('utf8'),
      ) as JWK & { d: string };
      expect(privateJwk).toEqual({
        ...without(row.publicJwk, 'kid', 'alg', 'use'),
        d: expect.any(String),
      });
      // Neither the base64url text of `d` nor its raw bytes appear in the stored value.
      expect(row.privateKeyEncrypted.includes(Buffer.from(privateJwk.d))).toBe(false);
      expect(row.privateKeyEncrypted.includes(Buffer.from(privateJwk.d, 'base64url'))).toBe(false);
    }
    // The kid is bound as additional data: a sealed key moved to another row does not open.
    expect(() => open(sealingKey, first!.privateKeyEncrypted, second!.kid)).toThrow();
  });
});

describe('SigningKeyService.rotate (npm run keys:rotate)', () => {
  it('walks a key from next to active to retired, then out of the JWKS', async () => {
    const { app, keys, issuer } = await givenKeysApp();
    const clock = app.get(Clock);
    const user = await givenUser(app);
    const initial = byStatus(await keys.list());
    const [nextKid, activeKid] = [initial['next']![0]!, initial['active']![0]!];

    const before = await accessToken(app, user);
    expect(kidOf(before)).toBe(activeKid);
    // A resource server that fetched the JWKS before the rotation and never fetches it again.
    const cachedVerifier = await remoteVerifier(issuer, {
      cooldownDuration: 3_600_000,
      cacheMaxAge: Infinity,
    });
    expect(await cachedVerifier(before)).toEqual({ alg: 'ES256', kid: activeKid, sub: user.id });

    const rotation = await keys.rotate();
    expect(rotation).toEqual({ retired: activeKid, active: nextKid, next: expect.any(String) });
    expect([activeKid, nextKid]).not.toContain(rotation.next);
    const rows = await keys.list();
    expect(byStatus(rows)).toEqual({
      retired: [activeKid],
      active: [nextKid],
      next: [rotation.next],
    });
    const retiredRow = rows.find((row) => row.kid === activeKid)!;
    expect(retiredRow.retiredAt).toBeInstanceOf(Date);
    expect(rows.find((row) => row.kid === nextKid)!.activatedAt).toBeInstanceOf(Date);

    // The former next key signs at once, and verifiers knew it before it signed anything.
    const after = await accessToken(app, user);
    expect(kidOf(after)).toBe(nextKid);
    expect(await cachedVerifier(after)).toEqual({ alg: 'ES256', kid: nextKid, sub: user.id });

    // The retired key stays published: tokens it signed keep working until they expire.
    expect(await publishedKids(app)).toEqual([activeKid, nextKid, rotation.next].sort());
    expect(
      (await app.inject({ method: 'GET', url: '/me', headers: bearer(before) })).statusCode,
    ).toBe(200);
    expect(await (await remoteVerifier(issuer))(before)).toEqual({
      alg: 'ES256',
      kid: activeKid,
      sub: user.id,
    });

    // Published up to ACCESS_TOKEN_TTL + 300 s after retirement, then gone.
    const retiredAt = retiredRow.retiredAt!.getTime();
    vi.spyOn(clock, 'now').mockReturnValue(new Date(retiredAt + RETIREMENT_WINDOW - SECOND));
    expect(await publishedKids(app)).toEqual([activeKid, nextKid, rotation.next].sort());
    vi.spyOn(clock, 'now').mockReturnValue(new Date(retiredAt + RETIREMENT_WINDOW));
    expect(await publishedKids(app)).toEqual([nextKid, rotation.next].sort());
    expect(byStatus(await keys.list())['retired']).toEqual([activeKid]);
  });

  it('keeps every retired key published within its own window after repeated rotations', async () => {
    const { app, keys } = await givenKeysApp();
    const clock = app.get(Clock);
    const start = Date.now();
    vi.spyOn(clock, 'now').mockReturnValue(new Date(start));
    const first = await keys.rotate();
    vi.spyOn(clock, 'now').mockReturnValue(new Date(start + 600 * SECOND));
    const second = await keys.rotate();
    expect(second.retired).toBe(first.active);
    expect(await publishedKids(app)).toEqual(
      [first.retired!, second.retired!, second.active, second.next].sort(),
    );
    vi.spyOn(clock, 'now').mockReturnValue(new Date(start + RETIREMENT_WINDOW));
    expect(await publishedKids(app)).toEqual([second.retired!, second.active, second.next].sort());
    vi.spyOn(clock, 'now').mockReturnValue(new Date(start + 600 * SECOND + RETIREMENT_WINDOW));
    expect(await publishedKids(app)).toEqual([second.active, second.next].sort());
  });

  it('is followed by another instance within a minute, its interim tokens staying valid', async () => {
    const rotating = await givenKeysApp();
    // Same deployment: same database, same issuer, another process.
    const other = await givenKeysApp({ ISSUER: rotating.issuer }, rotating.databaseUrl);
    const user = await givenUser(other.app);
    const initial = byStatus(await rotating.keys.list());
    expect(kidOf(await accessToken(other.app, user))).toBe(initial['active']![0]);

    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const rotation = await rotating.keys.rotate();
    expect(kidOf(await accessToken(rotating.app, user))).toBe(rotation.active);
    // Within its cache the other instance still signs with the key just retired...
    const interim = await accessToken(other.app, user);
    expect(kidOf(interim)).toBe(rotation.retired);
    // ...which every instance still accepts.
    const seen = await rotating.app.inject({ method: 'GET', url: '/me', headers: bearer(interim) });
    expect(seen.statusCode).toBe(200);
    vi.setSystemTime(Date.now() + SIGNER_CACHE + SECOND);
    expect(kidOf(await accessToken(other.app, user))).toBe(rotation.active);
  });
});

describe('JWT_ALG', () => {
  it.each([
    ['ES256', { kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String) }],
    ['RS256', { kty: 'RSA', n: expect.any(String), e: 'AQAB' }],
    ['EdDSA', { kty: 'OKP', crv: 'Ed25519', x: expect.any(String) }],
  ])(
    '%s signs tokens that the in-process guard and a remote jose verifier both accept',
    async (alg, keyShape) => {
      const { app, keys, issuer } = await givenKeysApp({ JWT_ALG: alg });
      const rows = await keys.list();
      const active = rows.find((row) => row.status === 'active')!;
      for (const row of rows) {
        expect({ alg: row.alg, jwk: row.publicJwk }).toEqual({
          alg,
          jwk: { ...keyShape, kid: row.kid, alg, use: 'sig' },
        });
      }
      const user = await givenUser(app);
      const token = await accessToken(app, user);
      expect(decodeProtectedHeader(token)).toEqual({ alg, kid: active.kid, typ: 'at+jwt' });
      expect(await (await remoteVerifier(issuer))(token)).toEqual({
        alg,
        kid: active.kid,
        sub: user.id,
      });
      const me = await app.inject({ method: 'GET', url: '/me', headers: bearer(token) });
      expect(me.statusCode).toBe(200);
    },
  );

  it('applies to new keys only: existing keys keep their algorithm until rotated out', async () => {
    const es256 = await givenKeysApp();
    const rs256 = await givenKeysApp({ JWT_ALG: 'RS256' }, es256.databaseUrl);
    const user = await givenUser(rs256.app);
    const old = await accessToken(rs256.app, user);
    expect(decodeProtectedHeader(old).alg).toBe('ES256');

    const first = await rs256.keys.rotate();
    const algs = () =>
      rs256.keys
        .list()
        .then((rows) => Object.fromEntries(rows.map((row) => [row.kid, row.alg] as const)));
    expect(await algs()).toEqual({
      [first.retired!]: 'ES256',
      [first.active]: 'ES256',
      [first.next]: 'RS256',
    });
    expect(decodeProtectedHeader(await accessToken(rs256.app, user)).alg).toBe('ES256');

    await rs256.keys.rotate();
    const current = await accessToken(rs256.app, user);
    expect(decodeProtectedHeader(current)).toEqual({
      alg: 'RS256',
      kid: first.next,
      typ: 'at+jwt',
    });
    const verify = await remoteVerifier(rs256.issuer);
    expect((await verify(old)).alg).toBe('ES256');
    expect((await verify(current)).alg).toBe('RS256');
  });
});

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

describe('a KEY_ENCRYPTION_KEY that does not open the stored keys', () => {
  it('stops auth-api at start with a message naming the variable, not at the first token request', async () => {
    // The worker's database holds keys sealed under the suite's key once any auth-api has started.
    await (await givenAuthApi()).close();
    const app = await createAuthApi(
      await testConfig({ KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64') }),
    );
    try {
      await expect(app.init()).rejects.toThrow(
        'KEY_ENCRYPTION_KEY does not decrypt the signing keys in the database: it is not the key ' +
          'they were stored with. Start with that key; if it is lost, see docs/operators.md, "Signing keys".',
      );
    } finally {
      await app.close();
    }
  });
});
