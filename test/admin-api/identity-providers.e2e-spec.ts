import { randomUUID } from 'node:crypto';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { givenCookieSession, givenUser, TRUSTED_ORIGIN } from '../support/http.js';
import { givenAdminApi, givenAuthApi } from '../support/test-app.js';

const SECRET = `upstream-secret-${randomUUID()}`;

const slug = () => `idp-${randomUUID().slice(0, 8)}`;

/** Issue 20: operators register upstream OpenID providers; the secret is write-only and sealed. */
describe('admin-api identity providers', () => {
  let auth: NestFastifyApplication;
  let admin: NestFastifyApplication;
  let db: DataSource;
  let cookie: string;
  let supportCookie: string;

  beforeAll(async () => {
    auth = await givenAuthApi();
    admin = await givenAdminApi();
    db = auth.get(DataSource);
    const operator = await givenUser(auth);
    await db.query(`UPDATE users SET roles = '{admin}' WHERE id = $1`, [operator.id]);
    ({ cookie } = await givenCookieSession(auth, operator));
    const support = await givenUser(auth);
    await db.query(`UPDATE users SET roles = '{support}' WHERE id = $1`, [support.id]);
    ({ cookie: supportCookie } = await givenCookieSession(auth, support));
  });
  afterAll(async () => {
    await admin.close();
    await auth.close();
  });

  const call = (
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    payload?: object,
    as = cookie,
  ) =>
    admin.inject({
      method,
      url,
      headers: { cookie: as, origin: TRUSTED_ORIGIN },
      ...(payload ? { payload } : {}),
    });

  const valid = () => ({
    type: 'oidc',
    slug: slug(),
    displayName: 'Acme SSO',
    issuer: 'https://sso.acme.example',
    clientId: 'gatehouse',
    clientSecret: SECRET,
  });

  it('registers a provider with defaults, shows its redirect URI, and never returns the secret', async () => {
    const body = valid();
    const created = await call('POST', '/admin/identity-providers', body);
    expect(created.statusCode).toBe(201);
    const provider = created.json<Record<string, unknown>>();
    expect(provider).toMatchObject({
      slug: body.slug,
      type: 'oidc',
      displayName: 'Acme SSO',
      enabled: true,
      issuer: 'https://sso.acme.example',
      clientId: 'gatehouse',
      hasClientSecret: true,
      scopes: ['openid', 'email', 'profile'],
      trustEmailVerified: false,
      linking: 'none',
      provisioning: 'create',
      allowedEmailDomains: [],
      claimMapping: { email: 'email', emailVerified: 'email_verified' },
      redirectUri: `http://localhost:3000/federation/${body.slug}/callback`,
    });
    expect(created.body).not.toContain(SECRET);
    expect(provider).not.toHaveProperty('clientSecret');

    const listed = await call('GET', '/admin/identity-providers');
    expect(listed.statusCode).toBe(200);
    expect(listed.body).not.toContain(SECRET);
    expect(listed.json<{ id: string }[]>().map(({ id }) => id)).toContain(provider['id']);
    const one = await call('GET', `/admin/identity-providers/${String(provider['id'])}`);
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual(provider);
  });

  it('stores the secret sealed (not in plain, not under another row id) and audits without it', async () => {
    const created = await call('POST', '/admin/identity-providers', valid());
    const { id } = created.json<{ id: string }>();
    const [row] = await db.query<{ sealed: Buffer; config: object }[]>(
      'SELECT client_secret_sealed AS sealed, config FROM identity_providers WHERE id = $1',
      [id],
    );
    expect(row!.sealed.length).toBeGreaterThan(SECRET.length);
    expect(row!.sealed.toString('utf8')).not.toContain(SECRET);
    expect(JSON.stringify(row!.config)).not.toContain(SECRET);
    const events = await db.query<{ action: string; details: object }[]>(
      'SELECT action, details FROM audit_events WHERE subject = $1',
      [`identity_provider:${id}`],
    );
    expect(events.map(({ action }) => action)).toEqual(['admin.identity_provider_created']);
    expect(JSON.stringify(events)).not.toContain(SECRET);
  });

  it('updates settings and the secret (write-only), disables, and deletes; each audited', async () => {
    const { id } = (await call('POST', '/admin/identity-providers', valid())).json<{
      id: string;
    }>();
    const [before] = await db.query<{ sealed: Buffer }[]>(
      'SELECT client_secret_sealed AS sealed FROM identity_providers WHERE id = $1',
      [id],
    );
    const updated = await call('PATCH', `/admin/identity-providers/${id}`, {
      displayName: 'Acme',
      enabled: false,
      trustEmailVerified: true,
      linking: 'verified-email',
      allowedEmailDomains: ['Acme.Example'],
      clientSecret: 'rotated-secret',
    });
    expect(updated.statusCode).toBe(200);
    expect(updated.json()).toMatchObject({
      displayName: 'Acme',
      enabled: false,
      trustEmailVerified: true,
      linking: 'verified-email',
      allowedEmailDomains: ['acme.example'],
      hasClientSecret: true,
      issuer: 'https://sso.acme.example',
    });
    expect(updated.body).not.toContain('rotated-secret');
    const [after] = await db.query<{ sealed: Buffer }[]>(
      'SELECT client_secret_sealed AS sealed FROM identity_providers WHERE id = $1',
      [id],
    );
    expect(after!.sealed.equals(before!.sealed)).toBe(false);

    const removedSecret = await call('PATCH', `/admin/identity-providers/${id}`, {
      clientSecret: null,
    });
    expect(removedSecret.json()).toMatchObject({ hasClientSecret: false });

    expect((await call('DELETE', `/admin/identity-providers/${id}`)).statusCode).toBe(204);
    expect((await call('GET', `/admin/identity-providers/${id}`)).statusCode).toBe(404);
    expect((await call('DELETE', `/admin/identity-providers/${id}`)).json()).toMatchObject({
      error: 'IDENTITY_PROVIDER_NOT_FOUND',
    });
    const events = await db.query<{ action: string }[]>(
      'SELECT action FROM audit_events WHERE subject = $1 ORDER BY at, id',
      [`identity_provider:${id}`],
    );
    expect(events.map(({ action }) => action)).toEqual([
      'admin.identity_provider_created',
      'admin.identity_provider_updated',
      'admin.identity_provider_updated',
      'admin.identity_provider_deleted',
    ]);
  });

  it.each([
    [{ slug: 'Not A Slug' }, 'slug'],
    [{ slug: '-leading' }, 'slug'],
    [{ type: 'ldap' }, 'type'],
    [{ issuer: 'http://sso.acme.example' }, 'issuer'],
    [{ issuer: 'not a url' }, 'issuer'],
    [{ issuer: 'https://sso.acme.example/?tenant=1' }, 'issuer'],
    [{ scopes: ['email'] }, 'scopes'],
    [{ linking: 'always' }, 'linking'],
    [{ provisioning: 'maybe' }, 'provisioning'],
    [{ allowedEmailDomains: ['not a domain'] }, 'allowedEmailDomains'],
    [{ clientId: '' }, 'clientId'],
    [{ unexpected: true }, 'unexpected'],
  ])('answers 400 VALIDATION_FAILED naming the field for %j', async (change, field) => {
    const response = await call('POST', '/admin/identity-providers', { ...valid(), ...change });
    expect(response.statusCode).toBe(400);
    const body = response.json<{ error: string; details: { field: string }[] }>();
    expect(body.error).toBe('VALIDATION_FAILED');
    expect(body.details.map((detail) => detail.field)).toContain(field);
  });

  it('accepts a plain-http issuer on loopback outside production', async () => {
    const response = await call('POST', '/admin/identity-providers', {
      ...valid(),
      issuer: 'http://127.0.0.1:9999',
    });
    expect(response.statusCode).toBe(201);
  });

  it('refuses a slug that is taken: 409 IDENTITY_PROVIDER_SLUG_TAKEN', async () => {
    const body = valid();
    expect((await call('POST', '/admin/identity-providers', body)).statusCode).toBe(201);
    const again = await call('POST', '/admin/identity-providers', body);
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ error: 'IDENTITY_PROVIDER_SLUG_TAKEN' });
  });

  it('answers 403 naming providers:manage to an operator without it (support), changing nothing', async () => {
    const body = valid();
    const refused = await call('POST', '/admin/identity-providers', body, supportCookie);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ error: 'FORBIDDEN' });
    expect(refused.json<{ message: string }>().message).toContain('providers:manage');
    expect(
      (await call('GET', '/admin/identity-providers', undefined, supportCookie)).statusCode,
    ).toBe(403);
    const rows = await db.query('SELECT 1 FROM identity_providers WHERE slug = $1', [body.slug]);
    expect(rows).toEqual([]);
  });
});
