import { createServer } from 'node:net';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ClientService } from '@gatehouse/identity';
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { givenUser, type TestUser } from '../support/http.js';
import { givenAuthApi } from '../support/test-app.js';

const FIRST_PARTY = 'gatehouse-first-party';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

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

/** Plain http on 127.0.0.1: openid-client refuses it unless told otherwise. */
const INSECURE = { execute: [client.allowInsecureRequests] };

/**
 * openid-client v6 as a real third-party client library, over a socket: discovery, the password
 * grant of the public first-party app, refresh, introspection by a confidential resource server,
 * and revocation.
 */
describe('auth-api with openid-client', () => {
  let app: NestFastifyApplication;
  let issuer: string;
  let user: TestUser;
  /** The first-party native app: a public client, no authentication beyond its client_id. */
  let nativeApp: client.Configuration;
  /** A resource server: a confidential client that may introspect. */
  let resourceServer: client.Configuration;
  let resourceServerId: string;

  beforeAll(async () => {
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    app = await givenAuthApi({ ISSUER: issuer });
    await app.listen(port, '127.0.0.1');
    user = await givenUser(app);
    const { client: registered, clientSecret } = await app.get(ClientService).create({
      name: 'openid-client resource server',
      grantTypes: ['client_credentials'],
      scopes: [],
      resourceServer: true,
    });
    resourceServerId = registered.id;
    nativeApp = await client.discovery(
      new URL(issuer),
      FIRST_PARTY,
      undefined,
      client.None(),
      INSECURE,
    );
    resourceServer = await client.discovery(
      new URL(issuer),
      registered.id,
      clientSecret!,
      client.ClientSecretPost(clientSecret!),
      INSECURE,
    );
  });
  afterAll(() => app.close());

  function signIn(): ReturnType<typeof client.genericGrantRequest> {
    return client.genericGrantRequest(nativeApp, 'password', {
      username: user.email,
      password: user.password,
    });
  }

  /** The grant's refusal as openid-client reports it: `{status, error}` of a ResponseBodyError. */
  async function refusal(attempt: Promise<unknown>): Promise<{ status: number; error: string }> {
    const error: unknown = await attempt.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(client.ResponseBodyError);
    const { status, error: code } = error as client.ResponseBodyError;
    return { status, error: code };
  }

  it('discovers the server metadata from the issuer', () => {
    expect(nativeApp.serverMetadata()).toMatchObject({
      issuer,
      token_endpoint: `${issuer}/oauth/token`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      introspection_endpoint: `${issuer}/oauth/introspect`,
      revocation_endpoint: `${issuer}/oauth/revoke`,
      authorization_endpoint: `${issuer}/oauth/authorize`,
      device_authorization_endpoint: `${issuer}/oauth/device_authorization`,
      end_session_endpoint: `${issuer}/oauth/end_session`,
      grant_types_supported: [
        'authorization_code',
        'password',
        'refresh_token',
        'client_credentials',
        'urn:ietf:params:oauth:grant-type:device_code',
        'urn:gatehouse:params:oauth:grant-type:mfa-otp',
      ],
      code_challenge_methods_supported: ['S256'],
      gatehouse_access_token_audience: 'gatehouse',
    });
    expect(resourceServer.serverMetadata().issuer).toBe(issuer);
  });

  it('obtains bearer tokens with the password grant of the public first-party client', async () => {
    const tokens = await signIn();
    expect({
      access_token: tokens.access_token,
      token_type: tokens.token_type,
      expires_in: tokens.expires_in,
      refresh_token: tokens.refresh_token,
      scope: tokens.scope,
    }).toEqual({
      access_token: expect.any(String),
      token_type: 'bearer',
      expires_in: 900,
      refresh_token: expect.any(String),
      scope: 'account',
    });
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      iss: issuer,
      sub: user.id,
      aud: 'gatehouse',
      client_id: FIRST_PARTY,
    });
  });

  it('reports a wrong password as invalid_grant', async () => {
    const attempt = client.genericGrantRequest(nativeApp, 'password', {
      username: user.email,
      password: 'not the password at all',
    });
    expect(await refusal(attempt)).toEqual({ status: 400, error: 'invalid_grant' });
  });

  it('refreshes: a new access token for the same session and a rotated refresh token', async () => {
    const tokens = await signIn();
    const refreshed = await client.refreshTokenGrant(nativeApp, tokens.refresh_token!);
    expect(refreshed.token_type).toBe('bearer');
    expect(refreshed.expires_in).toBe(900);
    expect(refreshed.refresh_token).toEqual(expect.any(String));
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(decodeJwt(refreshed.access_token)['sid']).toBe(decodeJwt(tokens.access_token)['sid']);
    const replay = await client.tokenIntrospection(resourceServer, tokens.refresh_token!);
    expect(replay).toEqual({ active: false });
  });

  it('introspects an access token for a confidential client: active, with sub and sid', async () => {
    const tokens = await signIn();
    const claims = decodeJwt(tokens.access_token);
    const introspection = await client.tokenIntrospection(resourceServer, tokens.access_token);
    expect(introspection).toEqual({
      active: true,
      token_type: 'access_token',
      sub: user.id,
      client_id: FIRST_PARTY,
      scope: 'account',
      exp: claims.exp,
      iat: claims.iat,
      iss: issuer,
      sid: expect.stringMatching(UUID),
      aud: 'gatehouse',
      jti: claims.jti,
      auth_time: claims['auth_time'],
      amr: ['pwd'],
      acr: 'urn:gatehouse:acr:pwd',
    });
    expect(introspection.sid).toBe(claims['sid']);
  });

  it('introspects a refresh token too: active, for the same session', async () => {
    const tokens = await signIn();
    const introspection = await client.tokenIntrospection(resourceServer, tokens.refresh_token!, {
      token_type_hint: 'refresh_token',
    });
    expect(introspection).toEqual({
      active: true,
      token_type: 'refresh_token',
      sub: user.id,
      client_id: FIRST_PARTY,
      scope: 'account',
      exp: expect.any(Number),
      iat: expect.any(Number),
      iss: issuer,
      sid: decodeJwt(tokens.access_token)['sid'],
    });
  });

  it('refuses introspection to the public client with invalid_client', async () => {
    const tokens = await signIn();
    const attempt = client.tokenIntrospection(nativeApp, tokens.access_token);
    expect(await refusal(attempt)).toEqual({ status: 401, error: 'invalid_client' });
  });

  it('refuses introspection with a wrong client secret with invalid_client', async () => {
    const impostor = await client.discovery(
      new URL(issuer),
      resourceServerId,
      'a-wrong-secret',
      client.ClientSecretPost('a-wrong-secret'),
      INSECURE,
    );
    const tokens = await signIn();
    const attempt = client.tokenIntrospection(impostor, tokens.access_token);
    expect(await refusal(attempt)).toEqual({ status: 401, error: 'invalid_client' });
  });

  it('revokes the refresh token: the session ends, its tokens go inactive, refresh fails with invalid_grant', async () => {
    const tokens = await signIn();
    await client.tokenRevocation(nativeApp, tokens.refresh_token!);
    expect(await client.tokenIntrospection(resourceServer, tokens.access_token)).toEqual({
      active: false,
    });
    expect(await client.tokenIntrospection(resourceServer, tokens.refresh_token!)).toEqual({
      active: false,
    });
    expect(await refusal(client.refreshTokenGrant(nativeApp, tokens.refresh_token!))).toEqual({
      status: 400,
      error: 'invalid_grant',
    });
    const me = await fetch(`${issuer}/me`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect({ status: me.status, body: await me.json() }).toEqual({
      status: 401,
      body: {
        statusCode: 401,
        error: 'SESSION_REVOKED',
        message: 'The session has been ended. Sign in again.',
      },
    });
  });

  it('revokes through the access token as well: the whole session ends', async () => {
    const tokens = await signIn();
    await client.tokenRevocation(nativeApp, tokens.access_token, {
      token_type_hint: 'access_token',
    });
    expect(await client.tokenIntrospection(resourceServer, tokens.access_token)).toEqual({
      active: false,
    });
    expect(await refusal(client.refreshTokenGrant(nativeApp, tokens.refresh_token!))).toEqual({
      status: 400,
      error: 'invalid_grant',
    });
  });

  it('answers revocation of an unknown token with success, changing nothing', async () => {
    const tokens = await signIn();
    await client.tokenRevocation(nativeApp, 'no-such-token');
    expect(await client.tokenIntrospection(resourceServer, tokens.access_token)).toMatchObject({
      active: true,
    });
  });
});
