import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { HTTPMethods } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TRUSTED_ORIGIN } from '../support/http.js';
import { givenAuthApi } from '../support/test-app.js';

interface OpenApiOperation {
  readonly security?: readonly Record<string, readonly string[]>[];
}

interface OpenApiDocument {
  readonly paths: Record<string, Record<string, unknown>>;
}

interface Operation {
  /** `METHOD /path`, as in the expectations below. */
  readonly name: string;
  readonly method: HTTPMethods;
  readonly path: string;
  /** The names of the security schemes the operation declares (empty: public). */
  readonly schemes: readonly string[];
}

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function operationsOf(document: OpenApiDocument): Operation[] {
  return Object.entries(document.paths)
    .flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => HTTP_METHODS.has(method))
        .map(([method, operation]) => {
          const verb = method.toUpperCase();
          const security = (operation as OpenApiOperation).security ?? [];
          return {
            name: `${verb} ${path}`,
            method: verb,
            path,
            schemes: [...new Set(security.flatMap((requirement) => Object.keys(requirement)))],
          };
        }),
    )
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The committed copy of GET /docs-json, read at collection time so every operation is its own test. */
const committed = JSON.parse(
  readFileSync(new URL('../../apps/auth-api/openapi.json', import.meta.url), 'utf8'),
) as OpenApiDocument;
const operations = operationsOf(committed);
const secured = operations.filter((operation) => operation.schemes.length > 0);
const open = operations.filter((operation) => operation.schemes.length === 0);

const names = (list: readonly Operation[]) => list.map((operation) => operation.name);

describe('auth-api route protection', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenAuthApi();
  });
  afterAll(() => app.close());

  /** A call with path parameters filled in, a trusted Origin and, for writes, a JSON body. */
  function call(operation: Operation, headers: Record<string, string> = {}) {
    return app.inject({
      method: operation.method,
      url: operation.path.replace(/\{[^}]+\}/g, () => randomUUID()),
      headers: { origin: TRUSTED_ORIGIN, ...headers },
      ...(WRITES.has(operation.method) ? { payload: {} } : {}),
    });
  }

  it('walks the document the app serves', async () => {
    const served = await app.inject({ method: 'GET', url: '/docs-json' });
    expect(served.statusCode).toBe(200);
    expect(operationsOf(served.json<OpenApiDocument>())).toEqual(operations);
  });

  it('declares the cookie and bearer schemes on exactly the operations that need a caller today', () => {
    expect(names(secured)).toEqual(
      [
        'DELETE /me/identities/{id}',
        'DELETE /me/mfa/{id}',
        'DELETE /me/sessions/{id}',
        'GET /me',
        'GET /me/identities',
        'GET /me/mfa',
        'GET /me/sessions',
        'GET /oauth/userinfo',
        'PATCH /me/mfa/passkeys/{id}',
        'POST /auth/logout',
        'POST /me/email',
        'POST /me/email/verification',
        'POST /me/mfa/passkeys',
        'POST /me/mfa/passkeys/options',
        'POST /me/mfa/recovery-codes',
        'POST /me/mfa/totp',
        'POST /me/mfa/totp/{id}/confirm',
        'POST /me/password',
        'POST /me/sessions/revoke-others',
      ].sort((a, b) => a.localeCompare(b)),
    );
    for (const operation of secured) {
      expect(operation.schemes, operation.name).toEqual(['cookie', 'bearer']);
    }
    expect(names(open)).toEqual(
      expect.arrayContaining([
        'GET /health/live',
        'GET /health/ready',
        'POST /auth/login',
        'POST /auth/register',
        'GET /oauth/authorize',
        'POST /oauth/token',
        'POST /oauth/introspect',
        'POST /oauth/revoke',
        'GET /.well-known/openid-configuration',
        'GET /.well-known/jwks.json',
      ]),
    );
  });

  it.each(secured.map((operation) => [operation.name, operation] as const))(
    '%s answers 401 MISSING_CREDENTIALS with a challenge when no credential is sent',
    async (_name, operation) => {
      const response = await call(operation);
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual({
        statusCode: 401,
        error: 'MISSING_CREDENTIALS',
        message: 'Authentication is required.',
      });
      expect(response.headers['www-authenticate']).toBe('Bearer realm="gatehouse"');
    },
  );

  it.each(secured.map((operation) => [operation.name, operation] as const))(
    '%s answers 401 INVALID_SESSION and clears the cookie for an unknown session cookie',
    async (_name, operation) => {
      const response = await call(operation, { cookie: 'gh_session=forged-or-long-deleted' });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({ error: 'INVALID_SESSION' });
      expect(response.headers['www-authenticate']).toBe('Bearer realm="gatehouse"');
      expect(String(response.headers['set-cookie'])).toMatch(/^gh_session=;.*Max-Age=0/);
    },
  );

  it.each(secured.map((operation) => [operation.name, operation] as const))(
    '%s answers 401 INVALID_TOKEN with an invalid_token challenge for a forged bearer token',
    async (_name, operation) => {
      const response = await call(operation, { authorization: 'Bearer not.a.jwt' });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({ error: 'INVALID_TOKEN' });
      expect(response.headers['www-authenticate']).toBe(
        'Bearer realm="gatehouse", error="invalid_token"',
      );
    },
  );

  it.each(open.map((operation) => [operation.name, operation] as const))(
    '%s answers without asking for credentials',
    async (_name, operation) => {
      const response = await call(operation);
      // The authorization endpoint answers pages (HTML), the API JSON.
      const { error } = response.headers['content-type']?.toString().startsWith('application/json')
        ? response.json<{ error?: string }>()
        : {};
      expect(`${response.statusCode} ${error ?? ''}`).not.toBe('401 MISSING_CREDENTIALS');
      expect(response.statusCode).toBeLessThan(500);
    },
  );
});
