import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { authorizeInBrowser } from '../support/code-flow.js';
import { givenOperatorAt, givenUserAt, passwordGrantAt, postForm } from '../support/http.js';
import { eventually } from '../support/eventually.js';
import { givenListeningAdminApi, givenListeningAuthApi } from '../support/test-app.js';
import { freshDatabaseUrl } from '../support/test-database.js';

const REDIRECT_URI = 'https://rp.example/callback';

/**
 * A logout token is owed from the commit of the revocation on (a row and a job in its transaction):
 * an auth-api that stops before sending it loses nothing, the next worker on the database sends it.
 */
describe('back-channel logout durability', () => {
  let first: NestFastifyApplication | undefined;
  let second: NestFastifyApplication | undefined;
  let admin: NestFastifyApplication | undefined;
  let receiver: Server;
  let receiverUrl: string;
  const received: string[] = [];
  /**
   * A database of its own: on the worker's shared one, the next worker would first work through the
   * jobs other spec files left queued (deliveries to their long-gone receivers) before this one.
   */
  let databaseUrl: string;

  beforeAll(async () => {
    databaseUrl = await freshDatabaseUrl('backchannel-logout-durability', { migrated: true });
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push(new URLSearchParams(body).get('logout_token') ?? '');
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/logout`;
  });
  afterAll(async () => {
    await second?.close();
    await admin?.close();
    await first?.close();
    receiver?.closeAllConnections();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('an auth-api without a worker owes the token; the next one delivers it', async () => {
    const env = {
      DATABASE_URL: databaseUrl,
      OUTBOUND_ALLOW_PRIVATE: 'true',
      JOB_POLL_INTERVAL_MS: '200',
    };
    const started = await givenListeningAuthApi({ ...env, JOB_WORKER_CONCURRENCY: '0' });
    first = started.app;
    const { issuer } = started;
    const listening = await givenListeningAdminApi(issuer, env);
    admin = listening.app;
    const operator = await givenOperatorAt(first, issuer);
    const { access_token: operatorToken } = (await (
      await passwordGrantAt(issuer, operator)
    ).json()) as { access_token: string };
    const asOperator = (method: string, path: string, body?: object) =>
      fetch(`${listening.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${operatorToken}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    const registered = await asOperator('POST', '/admin/clients', {
      name: `rp ${randomUUID()}`,
      grantTypes: ['authorization_code'],
      scopes: ['openid'],
      redirectUris: [REDIRECT_URI],
      public: true,
      backchannelLogoutUri: receiverUrl,
    });
    expect(registered.status).toBe(201);
    const { clientId } = (await registered.json()) as { clientId: string };
    const flow = await authorizeInBrowser(
      { issuer, clientId, redirectUri: REDIRECT_URI, scope: 'openid' },
      await givenUserAt(issuer),
    );
    const tokens = await postForm(`${issuer}/oauth/token`, {
      grant_type: 'authorization_code',
      code: flow.callback.searchParams.get('code')!,
      redirect_uri: REDIRECT_URI,
      code_verifier: flow.codeVerifier,
      client_id: clientId,
    });
    const sid = decodeJwt(((await tokens.json()) as { id_token: string }).id_token)[
      'sid'
    ] as string;
    expect((await asOperator('DELETE', `/admin/sessions/${sid}`)).status).toBe(204);

    const db = first.get(DataSource);
    const owed: { status: string }[] = await db.query(
      'SELECT status FROM logout_deliveries WHERE session_id = $1',
      [sid],
    );
    expect(owed).toEqual([{ status: 'queued' }]);
    await first.close();
    first = undefined;

    const next = await givenListeningAuthApi(env);
    second = next.app;
    await eventually(
      () => received.length,
      (count) => count > 0,
    );
    expect(received, 'the owed logout token arrives').toHaveLength(1);
    const { payload } = await jwtVerify(
      received[0]!,
      createRemoteJWKSet(new URL(`${next.issuer}/.well-known/jwks.json`)),
      { audience: clientId, typ: 'logout+jwt' },
    );
    expect(payload['sid']).toBe(sid);
  });
});
