import { describe, expect, it } from 'vitest';

import { formatLogLine } from './pretty-log-stream.js';

const time = Date.parse('2025-01-01T12:34:56.789Z');

describe(formatLogLine.name, () => {
  it('prints a request as method, url, status and duration', () => {
    const entry = {
      level: 30,
      time,
      app: 'auth-api',
      req: { method: 'GET', url: '/me', headers: { cookie: '[redacted]' } },
      res: { statusCode: 200 },
      responseTime: 3.4,
      msg: 'request completed',
    };
    expect(formatLogLine(JSON.stringify(entry))).toBe('12:34:56.789 auth-api GET /me 200 3 ms');
  });

  it('prints other entries with their level, context and extra fields', () => {
    const entry = { level: 40, time, app: 'admin-api', context: 'Feed', msg: 'down', retryMs: 500 };
    expect(formatLogLine(JSON.stringify(entry))).toBe(
      '12:34:56.789 admin-api WARN [Feed] down {"retryMs":500}',
    );
  });

  it('adds the stack under an error', () => {
    const entry = { level: 50, time, app: 'a', msg: 'boom', err: { stack: 'Error: boom\n  at x' } };
    expect(formatLogLine(JSON.stringify(entry))).toBe(
      '12:34:56.789 a ERROR boom\nError: boom\n  at x',
    );
  });

  it.each(['InstanceLoader', 'RoutesResolver', 'RouterExplorer'])(
    "drops Nest's %s start-up lines, unless they warn",
    (context) => {
      expect(formatLogLine(JSON.stringify({ level: 30, context, msg: 'Mapped {/me, GET}' }))).toBe(
        null,
      );
      expect(formatLogLine(JSON.stringify({ level: 40, time, app: 'a', context, msg: 'x' }))).toBe(
        `12:34:56.789 a WARN [${context}] x`,
      );
    },
  );

  it('passes through what is not JSON', () => {
    expect(formatLogLine('plain text')).toBe('plain text');
  });
});
