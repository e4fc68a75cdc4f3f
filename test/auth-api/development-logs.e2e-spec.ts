import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { STRONG_PASSWORD, uniqueEmail } from '../support/factories.js';
import { TRUSTED_ORIGIN } from '../support/http.js';
import { LogCapture } from '../support/log-capture.js';
import { givenAuthApi } from '../support/test-app.js';

const logs = new LogCapture();
const CLOCK = String.raw`\d{2}:\d{2}:\d{2}\.\d{3}`;

describe('auth-api logs in development (NODE_ENV=development)', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await givenAuthApi(
      { NODE_ENV: 'development', LOG_LEVEL: 'info' },
      { logDestination: logs },
    );
  });
  afterAll(() => app.close());

  function linesAbout(path: string): string[] {
    return logs.lines.filter((line) => line.includes(` ${path} `));
  }

  it('prints no route map and no module list at start, and no JSON', () => {
    expect(logs.lines.join('\n')).not.toMatch(/Mapped \{|RoutesResolver|RouterExplorer/);
    expect(logs.lines.join('\n')).not.toMatch(/InstanceLoader|dependencies initialized/);
    expect(logs.lines.filter((line) => line.startsWith('{'))).toEqual([]);
  });

  it('prints one readable line per request: method, path, status, duration', async () => {
    const response = await app.inject({ method: 'GET', url: '/.well-known/openid-configuration' });
    expect(response.statusCode).toBe(200);
    expect(linesAbout('/.well-known/openid-configuration')).toEqual([
      expect.stringMatching(
        new RegExp(`^${CLOCK} auth-api GET /\\.well-known/openid-configuration 200 \\d+ ms$`),
      ),
    ]);
  });

  it('marks client errors as WARN', async () => {
    await app.inject({ method: 'GET', url: '/me' });
    expect(linesAbout('/me')).toEqual([
      expect.stringMatching(new RegExp(`^${CLOCK} auth-api WARN GET /me 401 \\d+ ms$`)),
    ]);
  });

  it('says nothing about health probes and static files that succeed, but reports failures', async () => {
    expect((await app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/assets/gatehouse.css' })).statusCode).toBe(
      200,
    );
    expect((await app.inject({ method: 'GET', url: '/assets/missing.css' })).statusCode).toBe(404);
    expect(logs.lines.filter((line) => /\/health\/|gatehouse\.css/.test(line))).toEqual([]);
    expect(linesAbout('/assets/missing.css')).toEqual([
      expect.stringMatching(/ WARN GET \/assets\/missing\.css 404 \d+ ms$/),
    ]);
  });

  it('keeps credentials and secrets out of the lines', async () => {
    const email = uniqueEmail();
    await app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email, password: STRONG_PASSWORD },
    });
    await app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { origin: TRUSTED_ORIGIN, cookie: 'gh_session=cookie-secret-value' },
      payload: { email, password: STRONG_PASSWORD },
    });
    await app.inject({
      method: 'GET',
      url: '/me',
      headers: { authorization: 'Bearer bearer-secret-value' },
    });
    await app.inject({ method: 'GET', url: '/device?user_code=BCDF-GHJK' });
    const all = logs.lines.join('\n');
    expect(all).toContain('GET /device?user_code=%5Bredacted%5D');
    expect(all).not.toMatch(/cookie-secret-value|bearer-secret-value|BCDF-GHJK/);
    expect(all).not.toContain(STRONG_PASSWORD);
  });
});
