import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { pipelinedStatementsOf } from '@gatehouse/persistence';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { STRONG_PASSWORD, uniqueEmail } from '../support/factories.js';
import { givenTokens, givenUser, refreshGrant } from '../support/http.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { givenAuthApi } from '../support/test-app.js';
import { workerDatabaseUrl } from '../support/test-database.js';

describe('auth-api while the database is unreachable', () => {
  let app: NestFastifyApplication;
  let proxy: TcpProxy;

  beforeAll(async () => {
    const direct = new URL(await workerDatabaseUrl());
    proxy = new TcpProxy(direct.hostname, Number(direct.port || 5432));
    await proxy.open();
    const viaProxy = new URL(direct.href);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    app = await givenAuthApi({ DATABASE_URL: viaProxy.href, DATABASE_CONNECT_TIMEOUT_MS: '500' });
  });
  afterAll(async () => {
    await app.close();
    await proxy.cut();
  });

  const register = () =>
    app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email: uniqueEmail(), password: STRONG_PASSWORD },
    });

  it('answers 503 with stable codes, then recovers by itself when the database returns', async () => {
    expect((await register()).statusCode).toBe(201);

    await proxy.cut();
    const failed = await register();
    expect(failed.statusCode).toBe(503);
    expect(failed.headers['retry-after']).toBe('5');
    expect(failed.json()).toEqual({
      statusCode: 503,
      error: 'DATABASE_UNAVAILABLE',
      message: 'The service is temporarily unavailable. Retry shortly.',
      requestId: expect.any(String),
    });
    const ready = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({
      statusCode: 503,
      error: 'NOT_READY',
      message: 'A dependency is down: database.',
      requestId: expect.any(String),
    });
    expect((await app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
    // A cacheable route's failure is not: no cache may keep the 503 for the JWKS's max-age.
    const keys = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(keys.statusCode).toBe(503);
    expect(keys.headers['cache-control']).toBe('no-store');
    expect(keys.headers['vary']).toBeUndefined();

    await proxy.open();
    expect((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
    expect((await register()).statusCode).toBe(201);
    const recovered = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(recovered.statusCode).toBe(200);
    expect(recovered.headers['cache-control']).toBe('public, max-age=300');
  });

  it('answers a refresh 503 while the pipelined client cannot reach it, and spends nothing', async () => {
    expect(pipelinedStatementsOf(app.get(DataSource))).toBeDefined(); // the rotation's client
    const first = await givenTokens(app, await givenUser(app));
    // The first rotation opens the pipelined client's connection through the proxy.
    const rotated = await refreshGrant(app, first.refresh_token);
    expect(rotated.statusCode).toBe(200);
    const { refresh_token: current } = rotated.json<{ refresh_token: string }>();

    await proxy.cut();
    const failed = await refreshGrant(app, current);
    expect(failed.statusCode).toBe(503);
    expect(failed.headers['retry-after']).toBe('5');

    await proxy.open();
    // The token the failed attempt presented was not spent: it rotates now, once.
    const recovered = await refreshGrant(app, current);
    expect(recovered.statusCode).toBe(200);
    expect(recovered.json<{ refresh_token: string }>().refresh_token).not.toBe(current);
  });
});
