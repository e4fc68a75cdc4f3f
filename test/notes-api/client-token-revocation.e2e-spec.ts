import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ClientService, Clock } from '@gatehouse/identity';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { freePort, givenListeningAuthApi, givenNotesApi } from '../support/test-app.js';

/**
 * A client's own tokens (client credentials) have no session to revoke: narrowing or deleting the
 * client puts the client itself on the feed, and a sibling refuses its tokens issued up to then.
 */
describe("a client's own tokens end with its narrowing or deletion, at a sibling and at introspection", () => {
  let auth: NestFastifyApplication;
  let issuer: string;
  let notes: NestFastifyApplication;
  let notesUrl: string;
  let resourceServer: { id: string; secret: string };

  beforeAll(async () => {
    ({ app: auth, issuer } = await givenListeningAuthApi());
    notes = await givenNotesApi(issuer);
    const port = await freePort();
    await notes.listen(port, '127.0.0.1');
    notesUrl = `http://127.0.0.1:${port}`;
    const created = await auth.get(ClientService).create({
      name: 'notes-api',
      grantTypes: [],
      resourceServer: true,
    });
    resourceServer = { id: created.client.id, secret: created.clientSecret! };
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => {
    await notes.close();
    await auth.close();
  });

  async function givenService(): Promise<{ id: string; secret: string }> {
    const { client, clientSecret } = await auth.get(ClientService).create({
      name: 'reporting',
      grantTypes: ['client_credentials'],
      scopes: ['notes:read', 'reports:write'],
    });
    return { id: client.id, secret: clientSecret! };
  }

  async function tokenOf(service: { id: string; secret: string }): Promise<string> {
    const response = await fetch(`${issuer}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: service.id,
        client_secret: service.secret,
        scope: 'notes:read',
      }),
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { access_token: string }).access_token;
  }

  const stats = (token: string) =>
    fetch(`${notesUrl}/notes/stats`, { headers: { authorization: `Bearer ${token}` } });

  async function introspect(token: string): Promise<{ active: boolean }> {
    const response = await fetch(`${issuer}/oauth/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token,
        client_id: resourceServer.id,
        client_secret: resourceServer.secret,
      }),
    });
    return (await response.json()) as { active: boolean };
  }

  /** auth-api's clock `seconds` ahead: a token issued now carries a later `iat`. */
  function later(seconds: number): void {
    const clock = auth.get(Clock);
    const real = clock.now();
    vi.spyOn(clock, 'now').mockReturnValue(new Date(real.getTime() + seconds * 1000));
  }

  it('refuses the tokens issued before a scope was taken away, within milliseconds, and accepts later ones', async () => {
    const service = await givenService();
    const before = await tokenOf(service);
    expect((await stats(before)).status).toBe(200);
    expect(await introspect(before)).toMatchObject({ active: true });

    await auth.get(ClientService).update(service.id, { scopes: ['notes:read'] }, 'user:test');

    await expect
      .poll(async () => (await stats(before)).status, { timeout: 1000, interval: 5 })
      .toBe(401);
    const refused = await stats(before);
    expect(await refused.json()).toEqual({
      statusCode: 401,
      error: 'INVALID_TOKEN',
      message: "The client's tokens were revoked.",
    });
    expect(refused.headers.get('www-authenticate')).toBe(
      'Bearer realm="gatehouse", error="invalid_token"',
    );
    expect(await introspect(before)).toEqual({ active: false });

    // A token issued after the change (a later second: `iat` has whole seconds) works.
    later(2);
    const after = await tokenOf(service);
    expect((await stats(after)).status).toBe(200);
    expect(await introspect(after)).toMatchObject({ active: true });
  });

  it('refuses every token of a deleted client', async () => {
    const service = await givenService();
    const token = await tokenOf(service);
    expect((await stats(token)).status).toBe(200);

    await auth.get(ClientService).delete(service.id, 'user:test');

    await expect
      .poll(async () => (await stats(token)).status, { timeout: 1000, interval: 5 })
      .toBe(401);
    expect(await introspect(token)).toEqual({ active: false });
  });

  it('leaves the tokens of a client alone when a change takes nothing away', async () => {
    const service = await givenService();
    const token = await tokenOf(service);
    await auth
      .get(ClientService)
      .update(
        service.id,
        { name: 'renamed', scopes: ['notes:read', 'reports:write', 'x'] },
        'user:test',
      );
    // The feed delivers in commit order: once a later revocation has arrived, this one would have.
    const marker = await givenService();
    const markerToken = await tokenOf(marker);
    await auth.get(ClientService).delete(marker.id, 'user:test');
    await expect
      .poll(async () => (await stats(markerToken)).status, { timeout: 1000, interval: 5 })
      .toBe(401);
    expect((await stats(token)).status).toBe(200);
    expect(await introspect(token)).toMatchObject({ active: true });
  });
});
