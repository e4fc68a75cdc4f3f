import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SessionHousekeeping } from '@gatehouse/identity';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { authorizeInBrowser } from '../support/code-flow.js';
import {
  givenOperatorCallAt,
  givenUserAt,
  postForm,
  type TestUser,
  type OperatorCall,
} from '../support/http.js';
import { givenListeningAdminApi, givenListeningAuthApi } from '../support/test-app.js';
import { eventually } from '../support/eventually.js';

const REDIRECT_URI = 'https://rp.example/callback';
const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

interface Received {
  readonly path: string;
  readonly contentType: string | undefined;
  readonly logoutToken: string | null;
}

interface Delivery {
  readonly id: string;
  readonly sessionId: string;
  readonly status: string;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly lastResponseStatus: number | null;
  readonly reason: string;
}

/**
 * OpenID Connect Back-Channel Logout 1.0: a relying party with a back-channel URI (a real HTTP
 * receiver on 127.0.0.1, allowed by OUTBOUND_ALLOW_PRIVATE) gets a logout token whenever a session it
 * received tokens in ends, delivered by auth-api's job worker through the SSRF guard.
 */
describe('back-channel logout', () => {
  let auth: NestFastifyApplication;
  let admin: NestFastifyApplication;
  let db: DataSource;
  let issuer: string;
  let adminUrl: string;
  let asOperator: OperatorCall;
  let receiver: Server;
  let receiverUrl: string;
  const received: Received[] = [];
  /** Paths answering 500 once, then 200. */
  const flaky = new Set<string>();

  function receive(request: IncomingMessage, response: ServerResponse): void {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const path = request.url ?? '';
      received.push({
        path,
        contentType: request.headers['content-type'],
        logoutToken: new URLSearchParams(body).get('logout_token'),
      });
      if (path.startsWith('/redirect/')) {
        response.writeHead(302, { location: `${receiverUrl}/rp/elsewhere` }).end();
      } else if (flaky.delete(path)) {
        response.writeHead(500).end('not now');
      } else {
        response.writeHead(200).end();
      }
    });
  }

  beforeAll(async () => {
    receiver = createServer(receive);
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    const env = {
      OUTBOUND_ALLOW_PRIVATE: 'true',
      BACKCHANNEL_LOGOUT_MAX_ATTEMPTS: '2',
      REFRESH_REUSE_GRACE_SECONDS: '0',
      JOB_POLL_INTERVAL_MS: '200',
    };
    ({ app: auth, issuer } = await givenListeningAuthApi(env));
    ({ app: admin, url: adminUrl } = await givenListeningAdminApi(issuer, env));
    db = auth.get(DataSource);
    asOperator = await givenOperatorCallAt(auth, issuer, adminUrl);
  });
  afterAll(async () => {
    await admin?.close();
    await auth?.close();
    receiver?.closeAllConnections();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  async function register(fields: object): Promise<Response> {
    return asOperator('POST', '/admin/clients', {
      name: `rp ${randomUUID()}`,
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['openid'],
      redirectUris: [REDIRECT_URI],
      public: true,
      ...fields,
    });
  }

  /** A relying party whose logout tokens go to `path` on the receiver (none when path is null). */
  async function givenRelyingParty(path: string | null): Promise<string> {
    const response = await register(
      path === null ? {} : { backchannelLogoutUri: `${receiverUrl}${path}` },
    );
    expect(response.status).toBe(201);
    const client = (await response.json()) as { clientId: string; backchannelLogoutUri: string };
    expect(client.backchannelLogoutUri).toBe(path === null ? null : `${receiverUrl}${path}`);
    return client.clientId;
  }

  /** The code flow of `user` at the client: its tokens, with the ID token. */
  async function signIn(clientId: string, user: TestUser) {
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
    const tokens = (await response.json()) as {
      access_token: string;
      refresh_token: string;
      id_token: string;
    };
    const sid = decodeJwt(tokens.id_token)['sid'] as string;
    expect(sid).toEqual(expect.any(String));
    return { ...tokens, sid };
  }

  const tokensAt = (path: string) =>
    received.filter((one) => one.path === path).map((one) => one.logoutToken!);

  async function deliveries(clientId: string): Promise<Delivery[]> {
    const response = await asOperator('GET', `/admin/clients/${clientId}/logout-deliveries`);
    expect(response.status).toBe(200);
    return ((await response.json()) as { items: Delivery[] }).items;
  }

  async function revokeAsOperator(sid: string): Promise<void> {
    const response = await asOperator('DELETE', `/admin/sessions/${sid}`, { reason: 'test' });
    expect(response.status).toBe(204);
  }

  it('advertises back-channel logout in discovery', async () => {
    const metadata = (await (
      await fetch(`${issuer}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      backchannel_logout_supported: true,
      backchannel_logout_session_supported: true,
    });
  });

  it('acceptance 1: an operator revokes the session, the RP gets a logout token jose verifies from the JWKS', async () => {
    const path = `/rp/${randomUUID()}`;
    const clientId = await givenRelyingParty(path);
    const user = await givenUserAt(issuer);
    const { sid, id_token } = await signIn(clientId, user);

    await revokeAsOperator(sid);

    const [token] = await eventually(
      () => tokensAt(path),
      (tokens) => tokens.length > 0,
    );
    expect(token, 'the logout token arrives').toBeDefined();
    expect(received.find((one) => one.path === path)?.contentType).toBe(
      'application/x-www-form-urlencoded',
    );
    const jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(token!, jwks, {
      issuer,
      audience: clientId,
      typ: 'logout+jwt',
      requiredClaims: ['iat', 'exp', 'jti', 'sub', 'sid', 'events'],
    });
    expect(protectedHeader.kid).toBe(decodeProtectedHeader(id_token).kid);
    expect(payload).toMatchObject({
      iss: issuer,
      aud: clientId,
      sub: user.id,
      sid,
      events: { [LOGOUT_EVENT]: {} },
    });
    expect(payload['sid']).toBe(decodeJwt(id_token)['sid']);
    expect(payload).not.toHaveProperty('nonce');
    expect(payload.exp! - payload.iat!).toBe(120);

    const [delivery] = await eventually(
      () => deliveries(clientId),
      (rows) => rows[0]?.status === 'delivered',
    );
    expect(delivery).toMatchObject({
      sessionId: sid,
      status: 'delivered',
      attempts: 1,
      lastResponseStatus: 200,
      reason: 'admin',
    });
    expect(JSON.stringify(delivery)).not.toContain(token!);
  });

  it('sends a logout token when the user is disabled, and when a refresh token is reused', async () => {
    const path = `/rp/${randomUUID()}`;
    const clientId = await givenRelyingParty(path);

    const disabled = await givenUserAt(issuer);
    const first = await signIn(clientId, disabled);
    const response = await asOperator('POST', `/admin/users/${disabled.id}/disable`);
    expect(response.status).toBe(200);

    const replayer = await givenUserAt(issuer);
    const second = await signIn(clientId, replayer);
    const refresh = () =>
      postForm(`${issuer}/oauth/token`, {
        grant_type: 'refresh_token',
        refresh_token: second.refresh_token,
        client_id: clientId,
      });
    const rotated = await refresh();
    expect(rotated.status, await rotated.clone().text()).toBe(200);
    expect((await refresh()).status).toBe(400);

    const tokens = await eventually(
      () => tokensAt(path),
      (all) => all.length >= 2,
    );
    expect(tokens.map((token) => decodeJwt(token)['sid']).sort()).toEqual(
      [first.sid, second.sid].sort(),
    );
    const rows = await eventually(
      () => deliveries(clientId),
      (all) => all.length === 2 && all.every((one) => one.status === 'delivered'),
    );
    expect(rows.map((row) => row.reason).sort()).toEqual(['refresh_token_reuse', 'user_disabled']);
  });

  it('sends one when the RP revokes its own refresh token (RFC 7009 logout)', async () => {
    const path = `/rp/${randomUUID()}`;
    const clientId = await givenRelyingParty(path);
    const { sid, refresh_token } = await signIn(clientId, await givenUserAt(issuer));
    const response = await postForm(`${issuer}/oauth/revoke`, {
      token: refresh_token,
      client_id: clientId,
    });
    expect(response.status).toBe(200);
    const [token] = await eventually(
      () => tokensAt(path),
      (all) => all.length > 0,
    );
    expect(decodeJwt(token!)).toMatchObject({ sid, aud: clientId });
  });

  it('sends one to a deleted client for each of its sessions, and keeps the record', async () => {
    const path = `/rp/${randomUUID()}`;
    const clientId = await givenRelyingParty(path);
    const { sid } = await signIn(clientId, await givenUserAt(issuer));
    expect((await asOperator('DELETE', `/admin/clients/${clientId}`)).status).toBe(204);
    const [token] = await eventually(
      () => tokensAt(path),
      (all) => all.length > 0,
    );
    expect(decodeJwt(token!)).toMatchObject({ sid, aud: clientId });
    const [delivery] = await eventually(
      () => deliveries(clientId),
      (rows) => rows[0]?.status === 'delivered',
    );
    expect(delivery).toMatchObject({ sessionId: sid, reason: 'client_deleted' });
  });

  it('sends nothing for a client without a back-channel URI', async () => {
    const clientId = await givenRelyingParty(null);
    const { sid } = await signIn(clientId, await givenUserAt(issuer));
    await revokeAsOperator(sid);
    // The deliveries are written in the revocation's transaction: none exists once it answered.
    const rows: unknown[] = await db.query(
      'SELECT id FROM logout_deliveries WHERE session_id = $1',
      [sid],
    );
    expect(rows).toEqual([]);
    expect(await deliveries(clientId)).toEqual([]);
  });

  it('retries a delivery answered 500, with a freshly signed token', async () => {
    const path = `/rp/${randomUUID()}`;
    flaky.add(path);
    const clientId = await givenRelyingParty(path);
    const { sid } = await signIn(clientId, await givenUserAt(issuer));
    await revokeAsOperator(sid);

    const tokens = await eventually(
      () => tokensAt(path),
      (all) => all.length >= 2,
    );
    expect(tokens).toHaveLength(2);
    expect(decodeJwt(tokens[0]!).jti).not.toBe(decodeJwt(tokens[1]!).jti);
    const [delivery] = await eventually(
      () => deliveries(clientId),
      (rows) => rows[0]?.status === 'delivered',
    );
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 2, lastResponseStatus: 200 });
  });

  it('does not follow a redirect: the delivery fails, is retried, and ends dead (audited)', async () => {
    const path = `/redirect/${randomUUID()}`;
    const clientId = await givenRelyingParty(path);
    const { sid } = await signIn(clientId, await givenUserAt(issuer));
    await revokeAsOperator(sid);

    const [delivery] = await eventually(
      () => deliveries(clientId),
      (rows) => rows[0]?.status === 'dead',
    );
    expect(delivery).toMatchObject({ status: 'dead', attempts: 2, lastResponseStatus: 302 });
    expect(delivery!.lastError).toContain('redirect');
    expect(received.filter((one) => one.path === '/rp/elsewhere')).toEqual([]);
    const audit: { action: string }[] = await db.query(
      `SELECT action FROM audit_events WHERE subject = $1 AND action = 'client.backchannel_logout_failed'`,
      [`client:${clientId}`],
    );
    expect(audit).toHaveLength(1);
  });

  it('records a URI the SSRF guard refuses at delivery, and never calls it', async () => {
    const clientId = await givenRelyingParty(`/rp/${randomUUID()}`);
    const { sid } = await signIn(clientId, await givenUserAt(issuer));
    // A URI registered before the guard existed, or by hand: checked again at every delivery.
    await db.query('UPDATE clients SET backchannel_logout_uri = $2 WHERE id = $1', [
      clientId,
      'http://169.254.169.254/latest/meta-data/',
    ]);
    await revokeAsOperator(sid);
    const [delivery] = await eventually(
      () => deliveries(clientId),
      (rows) => rows[0]?.status === 'refused',
    );
    expect(delivery).toMatchObject({ status: 'refused', attempts: 1, lastResponseStatus: null });
    expect(delivery!.lastError).toContain('metadata');
  });

  it('housekeeping deletes finished deliveries past the session retention, never pending ones', async () => {
    const clientId = `housekeeping-${randomUUID()}`;
    const insert = (status: string, createdAt: string) =>
      db.query(
        `INSERT INTO logout_deliveries (id, client_id, session_id, user_id, uri, reason, status,
           created_at)
         VALUES (gen_random_uuid(), $1, gen_random_uuid(), gen_random_uuid(), 'https://rp.example/',
           'admin', $2, $3)`,
        [clientId, status, createdAt],
      );
    await insert('delivered', '2001-01-01T00:00:00Z');
    await insert('dead', '2001-01-01T00:00:00Z');
    await insert('failed', '2001-01-01T00:00:00Z');
    await insert('delivered', new Date().toISOString());
    const result = await auth.get(SessionHousekeeping).purge();
    expect(result.logoutDeliveries).toBeGreaterThanOrEqual(2);
    const left: { status: string }[] = await db.query(
      'SELECT status FROM logout_deliveries WHERE client_id = $1 ORDER BY status',
      [clientId],
    );
    expect(left.map((row) => row.status)).toEqual(['delivered', 'failed']);
  });

  describe('registration', () => {
    it.each([
      ['a cloud metadata address', 'http://169.254.169.254/', 'metadata'],
      ['a link-local address', 'http://169.254.10.1/logout', 'link_local'],
      ['credentials in the URL', 'https://user:pw@rp.example/logout', 'credentials'],
      ['another scheme', 'ftp://rp.example/logout', 'scheme'],
      ['a fragment', 'https://rp.example/logout#here', 'fragment'],
    ])('refuses %s with 400 naming the field and the reason', async (_case, uri, reason) => {
      const response = await register({ backchannelLogoutUri: uri });
      expect(response.status).toBe(400);
      const body = (await response.json()) as {
        error: string;
        details: { field: string; messages: string[] }[];
      };
      expect(body).toMatchObject({
        error: 'VALIDATION_FAILED',
        details: [{ field: 'backchannelLogoutUri' }],
      });
      expect(body.details[0]!.messages[0]).toContain(reason);
    });

    it('sets, shows and clears the URI and the session flag on update', async () => {
      const clientId = await givenRelyingParty(null);
      const uri = 'https://rp.example/backchannel';
      let response = await asOperator('PATCH', `/admin/clients/${clientId}`, {
        backchannelLogoutUri: uri,
        backchannelLogoutSessionRequired: true,
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({
        backchannelLogoutUri: uri,
        backchannelLogoutSessionRequired: true,
      });
      response = await asOperator('PATCH', `/admin/clients/${clientId}`, {
        backchannelLogoutUri: 'http://169.254.169.254/',
      });
      expect(response.status).toBe(400);
      response = await asOperator('PATCH', `/admin/clients/${clientId}`, {
        backchannelLogoutUri: null,
      });
      expect(await response.json()).toMatchObject({
        backchannelLogoutUri: null,
        backchannelLogoutSessionRequired: true,
      });
    });
  });
});
