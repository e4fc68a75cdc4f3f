import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { STRONG_PASSWORD, uniqueEmail } from '../support/factories.js';
import { LogCapture } from '../support/log-capture.js';
import { givenAdminApi, givenAuthApi } from '../support/test-app.js';

// Every app of this file logs to one capture, in one environment.
const logs = new LogCapture();
const env = { LOG_LEVEL: 'trace', TRUSTED_ORIGINS: 'https://app.example.com' };

describe.each([
  ['auth-api', givenAuthApi],
  ['admin-api', givenAdminApi],
])('%s HTTP conventions', (_name, givenApp) => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenApp(env, { logDestination: logs });
  });
  afterAll(() => app.close());

  it('serves Swagger UI at /docs and the OpenAPI JSON with cookie and bearer schemes at /docs-json', async () => {
    const ui = await app.inject({ method: 'GET', url: '/docs' });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toContain('text/html');
    const json = await app.inject({ method: 'GET', url: '/docs-json' });
    expect(json.statusCode).toBe(200);
    expect(json.json()).toMatchObject({
      openapi: expect.stringMatching(/^3\./),
      components: {
        securitySchemes: {
          cookie: { type: 'apiKey', in: 'cookie', name: 'gh_session' },
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        },
      },
    });
  });

  it('answers GET /health/live and GET /health/ready (database up) with 200', async () => {
    expect((await app.inject({ method: 'GET', url: '/health/live' })).json()).toEqual({
      status: 'ok',
    });
    const ready = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ok', info: { database: { status: 'up' } } });
  });

  it('sets the API security headers, no-store and a request id on JSON responses', async () => {
    for (const url of ['/health/live', '/no-such-route']) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.headers).toMatchObject({
        'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
        'cross-origin-resource-policy': 'same-origin',
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
        'cache-control': 'no-store',
        'x-request-id': expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
      // Helmet's document-only headers are for pages, not JSON.
      expect(response.headers['x-xss-protection']).toBeUndefined();
      expect(response.headers['cross-origin-opener-policy']).toBeUndefined();
      // Served over plain HTTP (an http issuer): RFC 6797 §7.2 forbids HSTS here.
      expect(response.headers['strict-transport-security']).toBeUndefined();
    }
  });

  it('sends HSTS on every answer, JSON and documents, when the platform is served over HTTPS', async () => {
    const overHttps = await givenApp(
      { ...env, LOG_LEVEL: 'error', ISSUER: 'https://id.example.com' },
      { logDestination: new LogCapture() },
    );
    try {
      for (const url of ['/health/live', '/no-such-route', '/docs']) {
        const response = await overHttps.inject({ method: 'GET', url });
        expect(response.headers['strict-transport-security']).toMatch(
          /^max-age=\d+; includeSubDomains$/,
        );
      }
    } finally {
      await overHttps.close();
    }
    expect(
      (await app.inject({ method: 'GET', url: '/docs' })).headers['strict-transport-security'],
    ).toBeUndefined();
  });

  it('gives documents (Swagger UI) the full browser set', async () => {
    const response = await app.inject({ method: 'GET', url: '/docs' });
    expect(response.headers).toMatchObject({
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'cross-origin-opener-policy': 'same-origin',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    });
    const policy = String(response.headers['content-security-policy']);
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toContain("'unsafe-eval'");
  });

  it.runIf(_name === 'auth-api')(
    'gives server-rendered pages the browser set under their own policy',
    async () => {
      const response = await app.inject({ method: 'GET', url: '/verify-email' });
      expect(response.headers['content-type']).toContain('text/html');
      expect(response.headers).toMatchObject({
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-resource-policy': 'same-origin',
        'referrer-policy': 'strict-origin',
        'cache-control': 'no-store',
        'x-request-id': expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
      const policy = String(response.headers['content-security-policy']);
      // The page's own policy (no script at all), not Helmet's document policy.
      expect(policy).toMatch(/^default-src 'none';/);
      expect(policy).toContain("frame-ancestors 'none'");
      expect(policy).not.toContain('script-src');
    },
  );

  it('keeps a well-formed incoming X-Request-Id and replaces a malformed one', async () => {
    const kept = await app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { 'x-request-id': 'lb-42.abc' },
    });
    expect(kept.headers['x-request-id']).toBe('lb-42.abc');
    const replaced = await app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { 'x-request-id': 'bad id\twith spaces' },
    });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const again = await app.inject({ method: 'GET', url: '/health/live' });
    expect(again.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(again.headers['x-request-id']).not.toBe(replaced.headers['x-request-id']);
  });

  it('allows credentialed CORS from a trusted origin only', async () => {
    const preflight = (origin: string) =>
      app.inject({
        method: 'OPTIONS',
        url: '/health/live',
        headers: {
          origin,
          'access-control-request-method': 'DELETE',
          'access-control-request-headers': 'content-type, x-csrf-token',
        },
      });
    const trusted = await preflight('https://app.example.com');
    expect(trusted.statusCode).toBe(204);
    expect(trusted.headers).toMatchObject({
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': expect.stringMatching(/\bDELETE\b/),
      'access-control-allow-headers': 'content-type, x-csrf-token',
      vary: 'Origin, Access-Control-Request-Headers',
    });
    for (const origin of ['https://evil.example.net', 'https://app.example.com.evil.net']) {
      const untrusted = await preflight(origin);
      expect(untrusted.headers['access-control-allow-origin']).toBeUndefined();
      expect(untrusted.headers['access-control-allow-credentials']).toBeUndefined();
      expect(untrusted.headers['access-control-allow-methods']).toBeUndefined();
    }
    // Actual requests: the trusted origin may read the answer, any other may not.
    const get = (headers: Record<string, string>, url = '/health/live') =>
      app.inject({ method: 'GET', url, headers });
    expect((await get({ origin: 'https://app.example.com' })).headers).toMatchObject({
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-allow-credentials': 'true',
    });
    const foreign = await get({ origin: 'https://evil.example.net' });
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
    const noOrigin = await get({});
    expect(noOrigin.headers['access-control-allow-origin']).toBeUndefined();
    // A no-store answer is kept by no cache, so it needs no Vary.
    for (const answer of [noOrigin, foreign]) {
      expect(answer.headers['cache-control']).toBe('no-store');
      expect(answer.headers['vary']).toBeUndefined();
    }
  });

  it('varies every answer a cache may keep by Origin, also one to a request without it', async () => {
    // Swagger UI's files are served cacheable (revalidated) by both apps.
    const cacheable = _name === 'auth-api' ? '/.well-known/jwks.json' : '/docs/swagger-ui.css';
    for (const headers of [{}, { origin: 'https://app.example.com' }]) {
      const response = await app.inject({ method: 'GET', url: cacheable, headers });
      expect(response.statusCode).toBe(200);
      expect(response.headers['cache-control']).not.toBe('no-store');
      expect(response.headers['vary']).toBe('Origin');
    }
  });

  it('answers an unknown route with the REST error shape', async () => {
    const response = await app.inject({ method: 'GET', url: '/no/such/route' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({
      statusCode: 404,
      error: 'NOT_FOUND',
      message: 'Cannot GET /no/such/route',
    });
  });

  it('logs requests as JSON with the request id and without credentials', async () => {
    await app.inject({
      method: 'GET',
      url: '/docs-json',
      headers: {
        cookie: 'gh_session=cookie-secret-value',
        authorization: 'Bearer bearer-secret-value',
        'x-request-id': 'log-check-1',
      },
    });
    const line = logs.lines
      .map((text) => JSON.parse(text) as Record<string, unknown>)
      .find((entry) => (entry['req'] as { id?: string } | undefined)?.id === 'log-check-1');
    expect(line).toMatchObject({
      req: {
        method: 'GET',
        url: '/docs-json',
        headers: { cookie: '[redacted]', authorization: '[redacted]' },
      },
      res: { statusCode: 200 },
    });
    expect(logs.lines.join('\n')).not.toMatch(/cookie-secret-value|bearer-secret-value/);
  });

  it('does not log health probes', async () => {
    await app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { 'x-request-id': 'probe-1' },
    });
    expect(logs.lines.some((line) => line.includes('probe-1'))).toBe(false);
  });
});

describe('auth-api request logs', () => {
  it('never contain a device user code or an id_token_hint from a page URL', async () => {
    const app = await givenAuthApi(env, { logDestination: logs });
    try {
      for (const [id, url] of [
        ['log-check-3', '/device?user_code=BCDF-GHJK'],
        ['log-check-4', '/signin?device=BCDF-GHJK'],
        ['log-check-5', '/oauth/end_session?id_token_hint=eyJ.hint-secret.sig&state=s1'],
      ] as const) {
        await app.inject({ method: 'GET', url, headers: { 'x-request-id': id } });
      }
      const lines = logs.lines
        .map((text) => JSON.parse(text) as { req?: { id?: string; url?: string; query?: object } })
        .filter((entry) => entry.req?.id?.startsWith('log-check-'));
      const logged = (id: string) => lines.find((entry) => entry.req?.id === id)?.req;
      expect(logged('log-check-3')).toMatchObject({
        url: '/device?user_code=%5Bredacted%5D',
        query: { user_code: '[redacted]' },
      });
      expect(logged('log-check-4')).toMatchObject({
        url: '/signin?device=%5Bredacted%5D',
        query: { device: '[redacted]' },
      });
      expect(logged('log-check-5')).toMatchObject({
        url: '/oauth/end_session?id_token_hint=%5Bredacted%5D&state=s1',
        query: { id_token_hint: '[redacted]', state: 's1' },
      });
      expect(logs.lines.join('\n')).not.toMatch(/BCDF-GHJK|hint-secret/);
    } finally {
      await app.close();
    }
  });

  it('never contain a submitted password', async () => {
    const app = await givenAuthApi(env, { logDestination: logs });
    try {
      await app.inject({
        method: 'POST',
        url: '/auth/register',
        headers: { 'x-request-id': 'log-check-2' },
        payload: { email: uniqueEmail(), password: STRONG_PASSWORD },
      });
      expect(logs.lines.some((line) => line.includes('log-check-2'))).toBe(true);
      expect(logs.lines.join('\n')).not.toContain(STRONG_PASSWORD);
    } finally {
      await app.close();
    }
  });
});
