import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { givenUserAt, passwordGrantAt, postForm, type TokenResponse } from '../support/http.js';
import { givenListeningAuthApi } from '../support/test-app.js';

const FIRST_PARTY = 'gatehouse-first-party';
const PHONE = '203.0.113.5';
const ELSEWHERE = '198.51.100.7';

/**
 * The refresh grace window over real sockets, behind a trusted proxy that names the client address
 * (the way it runs in production): a replay from the rotating address gets the successor and is
 * audited; one from another address is reuse.
 */
describe('refresh token grace over real sockets (TRUST_PROXY)', () => {
  let auth: NestFastifyApplication;
  let issuer: string;
  let db: DataSource;

  beforeAll(async () => {
    ({ app: auth, issuer } = await givenListeningAuthApi({ TRUST_PROXY: '127.0.0.1' }));
    db = auth.get(DataSource);
  });
  afterAll(() => auth.close());

  async function refresh(refreshToken: string, from: string): Promise<Response> {
    return postForm(
      `${issuer}/oauth/token`,
      { grant_type: 'refresh_token', client_id: FIRST_PARTY, refresh_token: refreshToken },
      { 'x-forwarded-for': from },
    );
  }

  async function signedIn(): Promise<{ userId: string; tokens: TokenResponse }> {
    const user = await givenUserAt(issuer);
    const response = await passwordGrantAt(issuer, user);
    expect(response.status).toBe(200);
    return { userId: user.id, tokens: (await response.json()) as TokenResponse };
  }

  const events = (userId: string, action: string) =>
    db.query<{ ip: string; details: Record<string, unknown> }[]>(
      `SELECT host(ip) AS ip, details FROM audit_events WHERE subject = $1 AND action = $2`,
      [`user:${userId}`, action],
    );

  it('answers a replay from the rotating address with the same successor, and audits it', async () => {
    const { userId, tokens } = await signedIn();
    const rotated = await refresh(tokens.refresh_token, PHONE);
    expect(rotated.status).toBe(200);
    const successor = ((await rotated.json()) as TokenResponse).refresh_token;

    const replay = await refresh(tokens.refresh_token, PHONE);
    expect(replay.status).toBe(200);
    expect(((await replay.json()) as TokenResponse).refresh_token).toBe(successor);
    expect(await events(userId, 'refresh_token.grace')).toEqual([
      {
        ip: PHONE,
        details: expect.objectContaining({ rotatedIp: PHONE, replayIp: PHONE }),
      },
    ]);
    expect((await refresh(successor, PHONE)).status).toBe(200);
  });

  it('treats a replay from another address as reuse: the family ends', async () => {
    const { userId, tokens } = await signedIn();
    const rotated = await refresh(tokens.refresh_token, PHONE);
    const successor = ((await rotated.json()) as TokenResponse).refresh_token;

    const replay = await refresh(tokens.refresh_token, ELSEWHERE);
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: 'invalid_grant' });
    expect(await events(userId, 'refresh_token.reuse_detected')).toEqual([
      {
        ip: ELSEWHERE,
        details: expect.objectContaining({ rotatedIp: PHONE, replayIp: ELSEWHERE }),
      },
    ]);
    expect(await events(userId, 'refresh_token.grace')).toEqual([]);
    const afterReuse = await refresh(successor, PHONE);
    expect(afterReuse.status).toBe(400);
    expect(await afterReuse.json()).toMatchObject({ error: 'invalid_grant' });
  });
});
