import { createHash } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ClientService, Clock, deriveKey, seal, SessionHousekeeping } from '@gatehouse/identity';
import type { LightMyRequestResponse } from 'fastify';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';

import { givenCookieSession, givenUser, type TestUser, withCookie } from '../support/http.js';
import { givenAuthApi } from '../support/test-app.js';

const FIRST_PARTY = 'gatehouse-first-party';
const REFRESH_TTL_SECONDS = 604_800;
const REFRESH_TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

interface TokenBody {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
  scope: string;
}

interface ConfidentialClient {
  readonly id: string;
  readonly secret: string;
}

interface RefreshTokenRow {
  id: string;
  session_id: string;
  parent_id: string | null;
  created_at: Date;
  used_at: Date | null;
  used_ip: string | null;
  expires_at: Date;
  sealed_token: Buffer | null;
}

interface SessionRow {
  revoked_at: Date | null;
  revoked_reason: string | null;
  revoked_by: string | null;
  last_seen_at: Date;
  idle_expires_at: Date;
  absolute_expires_at: Date;
}

interface AuditRow {
  actor: string;
  action: string;
  subject: string;
  ip: string | null;
  details: object;
}

/** Where a request comes from: the socket peer, and headers such as `X-Forwarded-For`. */
interface RequestOrigin {
  readonly remoteAddress?: string;
  readonly headers?: Record<string, string>;
}

const sha256 = (token: string) => createHash('sha256').update(token).digest();

const USED = {
  error: 'invalid_grant',
  error_description: 'The refresh token has already been used.',
};
const REVOKED = {
  error: 'invalid_grant',
  error_description: 'The refresh token has been revoked.',
};
const EXPIRED = { error: 'invalid_grant', error_description: 'The refresh token has expired.' };

/** One running auth-api and what the tests need to drive it. */
class Harness {
  readonly clock: Clock;
  readonly db: DataSource;

  private constructor(
    readonly app: NestFastifyApplication,
    private readonly introspector: ConfidentialClient,
  ) {
    this.clock = app.get(Clock);
    this.db = app.get(DataSource);
  }

  static async start(env: Record<string, string> = {}): Promise<Harness> {
    const app = await givenAuthApi(env);
    const introspector = await confidentialClient(app, ['client_credentials']);
    return new Harness(app, introspector);
  }

  /** Moves the service clock to `seconds` after `start`. */
  at(start: number, seconds: number): void {
    vi.spyOn(this.clock, 'now').mockReturnValue(new Date(start + seconds * 1000));
  }

  token(params: Record<string, string>, from: RequestOrigin = {}): Promise<LightMyRequestResponse> {
    return this.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...from.headers },
      payload: new URLSearchParams(params).toString(),
      ...(from.remoteAddress ? { remoteAddress: from.remoteAddress } : {}),
    });
  }

  async passwordGrant(user: TestUser): Promise<TokenBody> {
    const response = await this.token({
      grant_type: 'password',
      username: user.email,
      password: user.password,
      client_id: FIRST_PARTY,
    });
    expect(response.statusCode).toBe(200);
    return response.json<TokenBody>();
  }

  refresh(refreshToken: string, extra: Record<string, string> = {}, from: RequestOrigin = {}) {
    return this.token(
      {
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        client_id: FIRST_PARTY,
        ...extra,
      },
      from,
    );
  }

  async refreshed(refreshToken: string, from: RequestOrigin = {}): Promise<TokenBody> {
    const response = await this.refresh(refreshToken, {}, from);
    expect(response.json()).toMatchObject({ token_type: 'Bearer' });
    expect(response.statusCode).toBe(200);
    return response.json<TokenBody>();
  }

  async introspect(token: string): Promise<object> {
    const response = await this.app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        token,
        client_id: this.introspector.id,
        client_secret: this.introspector.secret,
      }).toString(),
    });
    expect(response.statusCode).toBe(200);
    return response.json<object>();
  }

  me(accessToken: string): Promise<LightMyRequestResponse> {
    return this.app.inject({
      method: 'GET',
      url: '/me',
      headers: { authorization: `Bearer ${accessToken}` },
    });
  }

  async tokenRow(token: string): Promise<RefreshTokenRow> {
    const rows = await this.db.query<RefreshTokenRow[]>(
      `SELECT id, session_id, parent_id, created_at, used_at, host(used_ip) AS used_ip, expires_at,
         sealed_token
       FROM refresh_tokens WHERE token_hash = $1`,
      [sha256(token)],
    );
    expect(rows).toHaveLength(1);
    return rows[0]!;
  }

  async sessionRow(id: string): Promise<SessionRow> {
    const rows = await this.db.query<SessionRow[]>(
      `SELECT revoked_at, revoked_reason, revoked_by, last_seen_at, idle_expires_at,
         absolute_expires_at
       FROM sessions WHERE id = $1`,
      [id],
    );
    expect(rows).toHaveLength(1);
    return rows[0]!;
  }

  async sessionOf(refreshToken: string): Promise<string> {
    return (await this.tokenRow(refreshToken)).session_id;
  }

  /** The user's audit events of `action`, oldest first. */
  auditEvents(userId: string, action: string): Promise<AuditRow[]> {
    return this.db.query<AuditRow[]>(
      `SELECT actor, action, subject, host(ip) AS ip, details FROM audit_events
       WHERE subject = $1 AND action = $2 ORDER BY at, id`,
      [`user:${userId}`, action],
    );
  }
}

async function confidentialClient(
  app: NestFastifyApplication,
  grantTypes: ('client_credentials' | 'refresh_token' | 'password')[],
): Promise<ConfidentialClient> {
  const { client, clientSecret } = await app.get(ClientService).create({
    name: `rotation-test-${grantTypes.join('-')}`,
    grantTypes,
    resourceServer: true,
  });
  return { id: client.id, secret: clientSecret! };
}

function expectOAuthError(response: LightMyRequestResponse, body: object, status = 400): void {
  expect(response.json()).toEqual(body);
  expect(response.statusCode).toBe(status);
  expect(response.headers['cache-control']).toBe('no-store');
  expect(response.headers['pragma']).toBe('no-cache');
}

describe('refresh token rotation (POST /oauth/token, grant_type=refresh_token)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.start();
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(() => h.app.close());

  describe('rotation', () => {
    it('issues a different refresh token with a fresh access token, and the new one works next', async () => {
      const first = await h.passwordGrant(await givenUser(h.app));
      expect(first).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 900,
        refresh_token: expect.stringMatching(REFRESH_TOKEN_SHAPE),
        scope: 'account',
      });

      const response = await h.refresh(first.refresh_token);
      expect(response.statusCode).toBe(200);
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.headers['pragma']).toBe('no-cache');
      const second = response.json<TokenBody>();
      expect(second).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 900,
        refresh_token: expect.stringMatching(REFRESH_TOKEN_SHAPE),
        scope: 'account',
      });
      expect(second.refresh_token).not.toBe(first.refresh_token);
      expect(second.access_token).not.toBe(first.access_token);

      const third = await h.refreshed(second.refresh_token);
      expect(new Set([first, second, third].map((body) => body.refresh_token)).size).toBe(3);
      expect((await h.me(third.access_token)).statusCode).toBe(200);
    });

    it('records each generation as the child of the one it replaced, in the same session', async () => {
      const a = await h.passwordGrant(await givenUser(h.app));
      const b = await h.refreshed(a.refresh_token);
      const rowA = await h.tokenRow(a.refresh_token);
      const rowB = await h.tokenRow(b.refresh_token);
      expect(rowA.parent_id).toBeNull();
      expect(rowA.used_at).not.toBeNull();
      expect(rowB).toMatchObject({
        parent_id: rowA.id,
        session_id: rowA.session_id,
        used_at: null,
      });
    });

    it('slides the session idle expiry and last-seen time on every rotation', async () => {
      const start = Date.now();
      h.at(start, 0);
      const a = await h.passwordGrant(await givenUser(h.app));
      const sessionId = await h.sessionOf(a.refresh_token);
      const initial = await h.sessionRow(sessionId);
      expect(initial.last_seen_at.getTime()).toBe(start);
      expect(initial.idle_expires_at.getTime()).toBe(start + REFRESH_TTL_SECONDS * 1000);

      let token = a.refresh_token;
      for (const seconds of [60, 3600, 86_400]) {
        h.at(start, seconds);
        token = (await h.refreshed(token)).refresh_token;
        const row = await h.sessionRow(sessionId);
        expect(row.last_seen_at.getTime()).toBe(start + seconds * 1000);
        expect(row.idle_expires_at.getTime()).toBe(start + (seconds + REFRESH_TTL_SECONDS) * 1000);
        expect(row.absolute_expires_at).toEqual(initial.absolute_expires_at);
        expect((await h.tokenRow(token)).expires_at).toEqual(row.idle_expires_at);
      }
    });

    it('answers invalid_scope to a refresh asking for a scope the session lacks, and keeps the token usable', async () => {
      const a = await h.passwordGrant(await givenUser(h.app));
      expectOAuthError(await h.refresh(a.refresh_token, { scope: 'admin' }), {
        error: 'invalid_scope',
        error_description: 'The requested scope exceeds the scope granted to the session.',
      });
      expect((await h.tokenRow(a.refresh_token)).used_at).toBeNull();
      await h.refreshed(a.refresh_token);
    });

    it('answers invalid_grant to another client presenting the token, and leaves it usable', async () => {
      const other = await confidentialClient(h.app, ['refresh_token']);
      const a = await h.passwordGrant(await givenUser(h.app));
      const response = await h.token({
        grant_type: 'refresh_token',
        refresh_token: a.refresh_token,
        client_id: other.id,
        client_secret: other.secret,
      });
      expectOAuthError(response, {
        error: 'invalid_grant',
        error_description: 'The refresh token is invalid.',
      });
      const row = await h.tokenRow(a.refresh_token);
      expect(row.used_at).toBeNull();
      expect((await h.sessionRow(row.session_id)).revoked_at).toBeNull();
      await h.refreshed(a.refresh_token);
    });

    it.each([
      ['an unknown token', 'A'.repeat(43)],
      ['a malformed token', 'not-a-refresh-token'],
    ])('answers invalid_grant to %s', async (_label, token) => {
      expectOAuthError(await h.refresh(token), {
        error: 'invalid_grant',
        error_description: 'The refresh token is invalid.',
      });
    });
  });

  describe('storage', () => {
    it('stores each refresh token only as its SHA-256, and no column holds the raw token', async () => {
      const a = await h.passwordGrant(await givenUser(h.app));
      const b = await h.refreshed(a.refresh_token);
      const sessionId = await h.sessionOf(a.refresh_token);
      const hashes = await h.db.query<{ token_hash: Buffer }[]>(
        'SELECT token_hash FROM refresh_tokens WHERE session_id = $1 ORDER BY created_at',
        [sessionId],
      );
      expect(hashes.map((row) => row.token_hash)).toEqual([
        sha256(a.refresh_token),
        sha256(b.refresh_token),
      ]);

      const dumps = await h.db.query<{ dump: string }[]>(
        `SELECT row_to_json(s)::text AS dump FROM sessions s WHERE s.id = $1
         UNION ALL
         SELECT row_to_json(rt)::text FROM refresh_tokens rt WHERE rt.session_id = $1`,
        [sessionId],
      );
      expect(dumps).toHaveLength(3);
      for (const { dump } of dumps) {
        for (const token of [a.refresh_token, b.refresh_token]) {
          expect(dump).not.toContain(token);
          expect(dump).not.toContain(Buffer.from(token).toString('hex'));
          expect(dump).not.toContain(Buffer.from(token, 'base64url').toString('hex'));
        }
      }
    });
  });

  describe('reuse detection', () => {
    it('revokes the whole family when a rotated token is presented after the grace window', async () => {
      const start = Date.now();
      h.at(start, 0);
      const user = await givenUser(h.app);
      const otherTokens = await h.passwordGrant(user);
      const cookieSession = await givenCookieSession(h.app, user);
      const a = await h.passwordGrant(user);
      const sessionId = await h.sessionOf(a.refresh_token);
      const rowA = await h.tokenRow(a.refresh_token);

      h.at(start, 1);
      const b = await h.refreshed(a.refresh_token);
      expect(b.refresh_token).not.toBe(a.refresh_token);

      h.at(start, 12);
      expectOAuthError(await h.refresh(a.refresh_token), USED);

      expectOAuthError(await h.refresh(b.refresh_token), REVOKED);
      for (const accessToken of [a.access_token, b.access_token]) {
        expect(await h.introspect(accessToken)).toEqual({ active: false });
        const me = await h.me(accessToken);
        expect(me.json()).toEqual({
          statusCode: 401,
          error: 'SESSION_REVOKED',
          message: 'The session has been ended. Sign in again.',
        });
        expect(me.statusCode).toBe(401);
        expect(me.headers['www-authenticate']).toBe(
          'Bearer realm="gatehouse", error="invalid_token"',
        );
      }
      expect(await h.introspect(b.refresh_token)).toEqual({ active: false });

      expect(await h.sessionRow(sessionId)).toMatchObject({
        revoked_at: new Date(start + 12_000),
        revoked_reason: 'refresh_token_reuse',
        revoked_by: 'system:refresh-token-reuse',
      });
      const feed = await h.db.query<{ revoked_at: Date }[]>(
        'SELECT revoked_at FROM revocations WHERE session_id = $1',
        [sessionId],
      );
      expect(feed).toEqual([{ revoked_at: new Date(start + 12_000) }]);
      expect(await h.auditEvents(user.id, 'refresh_token.reuse_detected')).toEqual([
        {
          actor: 'system:refresh-token-reuse',
          action: 'refresh_token.reuse_detected',
          subject: `user:${user.id}`,
          ip: '127.0.0.1',
          details: {
            sessionId,
            clientId: FIRST_PARTY,
            tokenId: rowA.id,
            rotatedIp: '127.0.0.1',
            replayIp: '127.0.0.1',
          },
        },
      ]);

      // The user's other sessions live on.
      const otherSessionId = await h.sessionOf(otherTokens.refresh_token);
      expect((await h.sessionRow(otherSessionId)).revoked_at).toBeNull();
      expect((await h.me(otherTokens.access_token)).statusCode).toBe(200);
      expect(await h.introspect(otherTokens.access_token)).toMatchObject({ active: true });
      const otherNext = await h.refreshed(otherTokens.refresh_token);
      expect((await h.me(otherNext.access_token)).json()).toMatchObject({
        user: { id: user.id },
        session: {
          id: otherSessionId,
          kind: 'token',
          client: { id: FIRST_PARTY, name: 'Gatehouse first-party apps' },
        },
      });
      const cookieMe = await withCookie(h.app, cookieSession, 'GET', '/me');
      expect(cookieMe.statusCode).toBe(200);
      expect(cookieMe.json()).toMatchObject({ session: { id: cookieSession.sessionId } });
    });

    it('ends every later generation of the family too, and records the reuse once', async () => {
      const start = Date.now();
      h.at(start, 0);
      const user = await givenUser(h.app);
      const a = await h.passwordGrant(user);
      const sessionId = await h.sessionOf(a.refresh_token);
      const b = await h.refreshed(a.refresh_token);
      h.at(start, 1);
      const c = await h.refreshed(b.refresh_token);
      h.at(start, 2);
      const d = await h.refreshed(c.refresh_token);

      h.at(start, 30);
      expectOAuthError(await h.refresh(a.refresh_token), USED);
      for (const later of [b, c, d]) {
        expectOAuthError(await h.refresh(later.refresh_token), REVOKED);
        expect(await h.introspect(later.access_token)).toEqual({ active: false });
        expect(await h.introspect(later.refresh_token)).toEqual({ active: false });
      }
      expect((await h.sessionRow(sessionId)).revoked_reason).toBe('refresh_token_reuse');
      const audit = await h.db.query<object[]>(
        `SELECT 1 FROM audit_events WHERE subject = $1 AND action = 'refresh_token.reuse_detected'`,
        [`user:${user.id}`],
      );
      expect(audit).toHaveLength(1);
    });

    it('answers a replay of the predecessor within the grace window with the same successor', async () => {
      const start = Date.now();
      h.at(start, 0);
      const a = await h.passwordGrant(await givenUser(h.app));
      const sessionId = await h.sessionOf(a.refresh_token);
      const b = await h.refreshed(a.refresh_token);
      expect((await h.tokenRow(a.refresh_token)).used_ip).toBe('127.0.0.1');

      h.at(start, 10);
      const replay = await h.refreshed(a.refresh_token);
      expect(replay).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 900,
        refresh_token: b.refresh_token,
        scope: 'account',
      });
      expect(replay.access_token).not.toBe(b.access_token);
      expect(await h.introspect(replay.access_token)).toMatchObject({
        active: true,
        sid: sessionId,
      });
      expect((await h.sessionRow(sessionId)).revoked_at).toBeNull();
      const children = await h.db.query<object[]>(
        'SELECT id FROM refresh_tokens WHERE parent_id = $1',
        [(await h.tokenRow(a.refresh_token)).id],
      );
      expect(children).toHaveLength(1);

      const c = await h.refreshed(b.refresh_token);
      expect(c.refresh_token).not.toBe(b.refresh_token);
    });

    it('records every grace answer in the audit log, with the rotating and the replaying address', async () => {
      const start = Date.now();
      h.at(start, 0);
      const user = await givenUser(h.app);
      const a = await h.passwordGrant(user);
      const sessionId = await h.sessionOf(a.refresh_token);
      const tokenId = (await h.tokenRow(a.refresh_token)).id;
      const phone = { remoteAddress: '2001:db8::7' };
      const b = await h.refreshed(a.refresh_token, phone);
      expect((await h.tokenRow(a.refresh_token)).used_ip).toBe('2001:db8::7');

      h.at(start, 3);
      // The same address, spelled as another stack may spell it.
      const first = await h.refreshed(a.refresh_token, { remoteAddress: '2001:DB8:0:0::7' });
      const second = await h.refreshed(a.refresh_token, phone);
      expect([first.refresh_token, second.refresh_token]).toEqual([
        b.refresh_token,
        b.refresh_token,
      ]);

      const details = { sessionId, clientId: FIRST_PARTY, tokenId, rotatedIp: '2001:db8::7' };
      expect(await h.auditEvents(user.id, 'refresh_token.grace')).toEqual([
        {
          actor: `user:${user.id}`,
          action: 'refresh_token.grace',
          subject: `user:${user.id}`,
          ip: '2001:db8::7',
          details: { ...details, replayIp: '2001:DB8:0:0::7' },
        },
        {
          actor: `user:${user.id}`,
          action: 'refresh_token.grace',
          subject: `user:${user.id}`,
          ip: '2001:db8::7',
          details: { ...details, replayIp: '2001:db8::7' },
        },
      ]);
      expect(await h.auditEvents(user.id, 'refresh_token.reuse_detected')).toEqual([]);
    });

    it('treats a replay within the grace window from another address than the rotation as reuse', async () => {
      const start = Date.now();
      h.at(start, 0);
      const user = await givenUser(h.app);
      const a = await h.passwordGrant(user);
      const sessionId = await h.sessionOf(a.refresh_token);
      const tokenId = (await h.tokenRow(a.refresh_token)).id;
      const b = await h.refreshed(a.refresh_token, { remoteAddress: '198.51.100.7' });

      h.at(start, 2);
      expectOAuthError(
        await h.refresh(a.refresh_token, {}, { remoteAddress: '203.0.113.9' }),
        USED,
      );

      expect(await h.sessionRow(sessionId)).toMatchObject({
        revoked_at: new Date(start + 2000),
        revoked_reason: 'refresh_token_reuse',
        revoked_by: 'system:refresh-token-reuse',
      });
      expectOAuthError(
        await h.refresh(b.refresh_token, {}, { remoteAddress: '198.51.100.7' }),
        REVOKED,
      );
      expect(await h.introspect(b.access_token)).toEqual({ active: false });
      expect(await h.auditEvents(user.id, 'refresh_token.reuse_detected')).toEqual([
        {
          actor: 'system:refresh-token-reuse',
          action: 'refresh_token.reuse_detected',
          subject: `user:${user.id}`,
          ip: '203.0.113.9',
          details: {
            sessionId,
            clientId: FIRST_PARTY,
            tokenId,
            rotatedIp: '198.51.100.7',
            replayIp: '203.0.113.9',
          },
        },
      ]);
      expect(await h.auditEvents(user.id, 'refresh_token.grace')).toEqual([]);
    });

    it('treats a replay of the predecessor as reuse once its successor was itself rotated, even within the grace window', async () => {
      const start = Date.now();
      h.at(start, 0);
      const a = await h.passwordGrant(await givenUser(h.app));
      const sessionId = await h.sessionOf(a.refresh_token);
      const b = await h.refreshed(a.refresh_token);
      h.at(start, 1);
      const c = await h.refreshed(b.refresh_token);

      h.at(start, 2);
      expectOAuthError(await h.refresh(a.refresh_token), USED);
      expect(await h.sessionRow(sessionId)).toMatchObject({
        revoked_reason: 'refresh_token_reuse',
        revoked_by: 'system:refresh-token-reuse',
      });
      expectOAuthError(await h.refresh(c.refresh_token), REVOKED);
      expect(await h.introspect(c.access_token)).toEqual({ active: false });
    });
  });

  describe('50 concurrent refreshes with one token', () => {
    it('all succeed with one and the same successor, created once, and the session lives on', async () => {
      const start = Date.now();
      h.at(start, 0);
      const user = await givenUser(h.app);
      const a = await h.passwordGrant(user);
      const rowA = await h.tokenRow(a.refresh_token);

      const responses = await Promise.all(
        Array.from({ length: 50 }, () => h.refresh(a.refresh_token)),
      );
      expect(responses.map((response) => response.statusCode)).toEqual(Array(50).fill(200));
      const bodies = responses.map((response) => response.json<TokenBody>());
      const successors = new Set(bodies.map((body) => body.refresh_token));
      expect(successors.size).toBe(1);
      const [successor] = [...successors];
      expect(successor).not.toBe(a.refresh_token);

      const children = await h.db.query<{ id: string; token_hash: Buffer }[]>(
        'SELECT id, token_hash FROM refresh_tokens WHERE parent_id = $1',
        [rowA.id],
      );
      expect(children).toHaveLength(1);
      expect(children[0]!.token_hash).toEqual(sha256(successor!));
      expect((await h.sessionRow(rowA.session_id)).revoked_at).toBeNull();
      expect(await h.auditEvents(user.id, 'refresh_token.reuse_detected')).toEqual([]);
      // Every one but the rotation itself got the successor through the grace window.
      expect(await h.auditEvents(user.id, 'refresh_token.grace')).toHaveLength(49);

      h.at(start, 1);
      const next = await h.refreshed(successor!);
      expect(next.refresh_token).not.toBe(successor);
      expect((await h.me(next.access_token)).statusCode).toBe(200);
    });
  });

  describe('sealed successors', () => {
    it('opens a successor sealed before seals were bound to the token hash (bound to the row id)', async () => {
      const start = Date.now();
      h.at(start, 0);
      const a = await h.passwordGrant(await givenUser(h.app));
      const b = await h.refreshed(a.refresh_token);
      const rowA = await h.tokenRow(a.refresh_token);
      const key = deriveKey(
        Buffer.from(inject('keyEncryptionKey'), 'base64'),
        'refresh-token-successors',
      );
      await h.db.query('UPDATE refresh_tokens SET sealed_token = $2 WHERE parent_id = $1', [
        rowA.id,
        seal(key, Buffer.from(b.refresh_token), rowA.id),
      ]);

      h.at(start, 2);
      expect((await h.refreshed(a.refresh_token)).refresh_token).toBe(b.refresh_token);
    });

    it('keeps a rotated token only sealed, in its own row, erases it once it is used, and housekeeping erases it after the grace window', async () => {
      const start = Date.now();
      h.at(start, 0);
      const a = await h.passwordGrant(await givenUser(h.app));
      expect((await h.tokenRow(a.refresh_token)).sealed_token).toBeNull(); // no parent to answer
      const b = await h.refreshed(a.refresh_token);

      const sealed = (await h.tokenRow(b.refresh_token)).sealed_token;
      expect(sealed).toBeInstanceOf(Buffer);
      expect(sealed!.includes(Buffer.from(b.refresh_token, 'utf8'))).toBe(false);
      expect(sealed!.includes(Buffer.from(b.refresh_token, 'base64url'))).toBe(false);
      expect(sealed!.toString('base64url')).not.toContain(b.refresh_token);
      expect(sealed!.toString('latin1')).not.toContain(b.refresh_token);
      expect((await h.tokenRow(a.refresh_token)).sealed_token).toBeNull();

      h.at(start, 1);
      const c = await h.refreshed(b.refresh_token);
      expect((await h.tokenRow(b.refresh_token)).sealed_token).toBeNull();
      expect((await h.tokenRow(c.refresh_token)).sealed_token).toBeInstanceOf(Buffer);

      const housekeeping = h.app.get(SessionHousekeeping);
      h.at(start, 6);
      await housekeeping.purge();
      expect((await h.tokenRow(c.refresh_token)).sealed_token).toBeInstanceOf(Buffer);

      h.at(start, 12);
      const result = await housekeeping.purge();
      expect(result.successors).toBeGreaterThanOrEqual(1);
      expect((await h.tokenRow(c.refresh_token)).sealed_token).toBeNull();
    });
  });

  describe('expiry', () => {
    it('refreshes a token until its lifetime ends, then answers invalid_grant "expired"', async () => {
      const start = Date.now();
      h.at(start, 0);
      const user = await givenUser(h.app);
      const early = await h.passwordGrant(user);
      const late = await h.passwordGrant(user);

      h.at(start, REFRESH_TTL_SECONDS - 1);
      await h.refreshed(early.refresh_token);

      h.at(start, REFRESH_TTL_SECONDS);
      expectOAuthError(await h.refresh(late.refresh_token), EXPIRED);
      expect((await h.tokenRow(late.refresh_token)).used_at).toBeNull();
    });
  });
});

describe('refresh token family maximum (REFRESH_FAMILY_MAX_SECONDS)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.start({
      REFRESH_TOKEN_TTL_SECONDS: '100',
      REFRESH_FAMILY_MAX_SECONDS: '250',
    });
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(() => h.app.close());

  it('ends the session at the family maximum however regularly it is refreshed', async () => {
    const start = Date.now();
    h.at(start, 0);
    let token = (await h.passwordGrant(await givenUser(h.app))).refresh_token;
    const sessionId = await h.sessionOf(token);
    expect((await h.sessionRow(sessionId)).absolute_expires_at.getTime()).toBe(start + 250_000);

    for (const seconds of [90, 180, 240]) {
      h.at(start, seconds);
      token = (await h.refreshed(token)).refresh_token;
    }
    // Capped by the family maximum, not 100 s after the last rotation.
    expect((await h.tokenRow(token)).expires_at.getTime()).toBe(start + 250_000);

    h.at(start, 249);
    expect(await h.introspect(token)).toMatchObject({ active: true });
    h.at(start, 250);
    expectOAuthError(await h.refresh(token), EXPIRED);
    expect(await h.introspect(token)).toEqual({ active: false });
  });

  it('expires an unused token after REFRESH_TOKEN_TTL_SECONDS', async () => {
    const start = Date.now();
    h.at(start, 0);
    const a = await h.passwordGrant(await givenUser(h.app));
    h.at(start, 100);
    expectOAuthError(await h.refresh(a.refresh_token), EXPIRED);
  });
});

describe('refresh token reuse without grace (REFRESH_REUSE_GRACE_SECONDS=0)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.start({ REFRESH_REUSE_GRACE_SECONDS: '0' });
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(() => h.app.close());

  it('treats any replay as reuse at once and revokes the family', async () => {
    const start = Date.now();
    h.at(start, 0);
    const a = await h.passwordGrant(await givenUser(h.app));
    const sessionId = await h.sessionOf(a.refresh_token);
    const b = await h.refreshed(a.refresh_token);

    expectOAuthError(await h.refresh(a.refresh_token), USED);
    expect(await h.sessionRow(sessionId)).toMatchObject({
      revoked_at: new Date(start),
      revoked_reason: 'refresh_token_reuse',
      revoked_by: 'system:refresh-token-reuse',
    });
    expectOAuthError(await h.refresh(b.refresh_token), REVOKED);
    expect(await h.introspect(b.access_token)).toEqual({ active: false });
  });

  it('still rotates normally', async () => {
    const a = await h.passwordGrant(await givenUser(h.app));
    const b = await h.refreshed(a.refresh_token);
    const c = await h.refreshed(b.refresh_token);
    expect(c.refresh_token).not.toBe(b.refresh_token);
  });
});

describe('refresh token grace behind a trusted proxy (TRUST_PROXY)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.start({ TRUST_PROXY: '127.0.0.1' });
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(() => h.app.close());

  const viaProxy = (client: string): RequestOrigin => ({
    remoteAddress: '127.0.0.1',
    headers: { 'x-forwarded-for': client },
  });

  it('compares the client addresses the proxy forwards, not the proxy its requests come from', async () => {
    const start = Date.now();
    h.at(start, 0);
    const user = await givenUser(h.app);
    const a = await h.passwordGrant(user);
    const sessionId = await h.sessionOf(a.refresh_token);
    const b = await h.refreshed(a.refresh_token, viaProxy('198.51.100.7'));
    expect((await h.tokenRow(a.refresh_token)).used_ip).toBe('198.51.100.7');

    h.at(start, 1);
    expect((await h.refreshed(a.refresh_token, viaProxy('198.51.100.7'))).refresh_token).toBe(
      b.refresh_token,
    );
    h.at(start, 2);
    expectOAuthError(await h.refresh(a.refresh_token, {}, viaProxy('203.0.113.9')), USED);
    expect((await h.sessionRow(sessionId)).revoked_reason).toBe('refresh_token_reuse');

    const [grace] = await h.auditEvents(user.id, 'refresh_token.grace');
    expect(grace).toMatchObject({
      ip: '198.51.100.7',
      details: { rotatedIp: '198.51.100.7', replayIp: '198.51.100.7' },
    });
    const [reuse] = await h.auditEvents(user.id, 'refresh_token.reuse_detected');
    expect(reuse).toMatchObject({
      ip: '203.0.113.9',
      details: { rotatedIp: '198.51.100.7', replayIp: '203.0.113.9' },
    });
  });
});
