import { describe, expect, it } from 'vitest';

import { ConfigError, loadConfig } from './load-config.js';

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      return error.problems;
    }
    throw error;
  }
  return [];
}

describe(loadConfig.name, () => {
  it('applies the documented defaults to an empty environment', () => {
    const config = loadConfig({});
    expect(config.authApi.port).toBe(3000);
    expect(config.adminApi.port).toBe(3001);
    expect(config.database.url).toBeUndefined();
    expect(config.dataDir).toBe('.gatehouse');
    expect(config.issuer).toBe('http://localhost:3000');
    expect(config.trustedOrigins).toEqual([
      'http://localhost:3000',
      'http://127.0.0.1:3000',
      'http://localhost:3001',
      'http://127.0.0.1:3001',
      'http://localhost:3002',
      'http://127.0.0.1:3002',
    ]);
    expect(config.database.migrationsRun).toBe(true);
    expect(config.bootstrapOperator).toBeUndefined();
  });

  it('reads MFA_REQUIRED_ROLES as a list of role names, none by default', () => {
    expect(loadConfig({}).mfa.requiredRoles).toEqual([]);
    expect(loadConfig({ MFA_REQUIRED_ROLES: 'admin, support' }).mfa.requiredRoles).toEqual([
      'admin',
      'support',
    ]);
    expect(problemsOf({ MFA_REQUIRED_ROLES: 'admin,not a role' })).toEqual([
      'MFA_REQUIRED_ROLES: expected a comma-separated list of role names (letters, digits, . _ : -), or empty',
    ]);
  });

  it('returns a frozen object', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.database)).toBe(true);
    expect(Object.isFrozen(config.trustedOrigins)).toBe(true);
  });

  it('names the variable and the expectation, never the value', () => {
    const problems = problemsOf({ AUTH_API_PORT: 'abc', DATABASE_URL: 'mysql://secret@db' });
    expect(problems).toEqual([
      'DATABASE_URL: expected a postgres:// or postgresql:// URL',
      'AUTH_API_PORT: expected an integer port from 1 to 65535',
    ]);
    expect(problems.join()).not.toContain('secret');
  });

  it.each([
    ['AUTH_API_PORT', '70000'],
    ['ADMIN_API_PORT', '-1'],
    ['LOG_LEVEL', 'verbose'],
    ['MIGRATIONS_RUN', 'maybe'],
    ['ISSUER', 'ftp://example.com'],
    ['ISSUER', 'https://example.com/?a=b'],
    ['TRUSTED_ORIGINS', 'https://app.example.com/path'],
    ['REDIS_URL', 'http://localhost:6379'],
    ['HTTP_BODY_LIMIT_BYTES', '10'],
    ['TRUST_PROXY', 'maybe'],
    ['TRUST_PROXY', '10.0.0.0/8, proxy.example.com'],
    ['SESSION_IDLE_TIMEOUT_SECONDS', '0'],
    ['SESSION_TOUCH_INTERVAL_SECONDS', '-5'],
    ['LOGIN_MAX_ATTEMPTS_PER_ACCOUNT', '0'],
    ['REGISTRATION_ATTEMPTS_PER_IP', '0'],
    ['PASSWORD_HASH_QUEUE_LIMIT', '-1'],
    ['ACCESS_TOKEN_TTL_SECONDS', '3600'],
    ['JWT_ALG', 'HS256'],
    ['KEY_ENCRYPTION_KEY', 'c2hvcnQ='],
    ['KEY_ENCRYPTION_KEY', Buffer.alloc(32).toString('base64')],
    ['REFRESH_REUSE_GRACE_SECONDS', '61'],
  ])('rejects %s=%s', (name, value) => {
    expect(problemsOf({ [name]: value })).toEqual([
      expect.stringMatching(new RegExp(`^${name}: expected`)),
    ]);
  });

  it('parses lists of origins and trims a trailing slash', () => {
    const config = loadConfig({ TRUSTED_ORIGINS: 'https://a.example.com/, http://localhost:8080' });
    expect(config.trustedOrigins).toEqual(['https://a.example.com', 'http://localhost:8080']);
  });

  it('names the session cookie with the __Host- prefix only for an https issuer', () => {
    expect(loadConfig({}).session.cookieName).toBe('gh_session');
    expect(loadConfig({ ISSUER: 'https://auth.example.com' }).session.cookieName).toBe(
      '__Host-gh_session',
    );
  });

  it('defaults the session timeouts and login limits of the design', () => {
    const { session, loginLimits } = loadConfig({});
    expect(session).toMatchObject({
      idleTimeoutSeconds: 86_400,
      absoluteTimeoutSeconds: 604_800,
      touchIntervalSeconds: 60,
    });
    expect(loginLimits).toEqual({ attemptsPerAccount: 10, attemptsPerIp: 100, windowSeconds: 900 });
  });

  it('defaults the registration limit and the password-hash queue', () => {
    const config = loadConfig({});
    expect(config.registrationLimits).toEqual({ attemptsPerIp: 10, windowSeconds: 3600 });
    expect(config.passwordHashQueueLimit).toBe(64);
  });

  it('decodes KEY_ENCRYPTION_KEY into 32 bytes and requires it in production', () => {
    const key = 'q7Nw2b1mZ0pQ9xYv3LkR8sT4uV6wX0yZ1aB2cD3eF4g=';
    expect(loadConfig({ KEY_ENCRYPTION_KEY: key }).keys.encryptionKey).toEqual(
      Buffer.from(key, 'base64'),
    );
    expect(
      problemsOf({
        NODE_ENV: 'production',
        DATABASE_URL: 'postgres://db/gh',
        ISSUER: 'https://auth.example.com',
        SMTP_URL: 'smtp://mail.example.com',
      }),
    ).toEqual(['KEY_ENCRYPTION_KEY: expected 32 random bytes in base64 in production']);
  });

  it('defaults the token lifetimes of the design', () => {
    expect(loadConfig({}).tokens).toEqual({
      accessTokenTtlSeconds: 900,
      audience: 'gatehouse',
      adminAudience: 'urn:gatehouse:admin-api',
      refreshTokenTtlSeconds: 604_800,
      refreshFamilyMaxSeconds: 2_592_000,
      refreshReuseGraceSeconds: 10,
      firstPartyClientId: 'gatehouse-first-party',
      deviceCodeTtlSeconds: 600,
      deviceCodeIntervalSeconds: 5,
    });
    expect(loadConfig({}).keys).toEqual({ algorithm: 'ES256', encryptionKey: undefined });
  });

  it('refuses an idle timeout longer than the absolute lifetime', () => {
    expect(
      problemsOf({
        SESSION_IDLE_TIMEOUT_SECONDS: '7200',
        SESSION_ABSOLUTE_TIMEOUT_SECONDS: '3600',
      }),
    ).toEqual([
      'SESSION_ABSOLUTE_TIMEOUT_SECONDS: expected a value not below SESSION_IDLE_TIMEOUT_SECONDS',
    ]);
  });

  it.each([
    ['false', false],
    ['true', true],
    ['2', 2],
    ['10.0.0.0/8, 127.0.0.1, ::1', ['10.0.0.0/8', '127.0.0.1', '::1']],
  ])('parses TRUST_PROXY=%s', (raw, expected) => {
    expect(loadConfig({ TRUST_PROXY: raw }).http.trustProxy).toEqual(expected);
  });

  it('needs ADMIN_EMAIL and ADMIN_PASSWORD together', () => {
    expect(problemsOf({ ADMIN_EMAIL: 'ops@example.com' })).toEqual([
      'ADMIN_EMAIL and ADMIN_PASSWORD: expected both to be set, or neither',
    ]);
    const config = loadConfig({
      ADMIN_EMAIL: 'ops@example.com',
      ADMIN_PASSWORD: 'long enough pass',
    });
    expect(config.bootstrapOperator).toEqual({
      email: 'ops@example.com',
      password: 'long enough pass',
    });
  });

  it('refuses the embedded database in production', () => {
    expect(
      problemsOf({
        NODE_ENV: 'production',
        KEY_ENCRYPTION_KEY: 'q7Nw2b1mZ0pQ9xYv3LkR8sT4uV6wX0yZ1aB2cD3eF4g=',
        ISSUER: 'https://auth.example.com',
        SMTP_URL: 'smtp://mail.example.com',
      }),
    ).toEqual([expect.stringMatching(/^DATABASE_URL: expected a PostgreSQL URL in production/)]);
  });

  it('derives the issuer and the trusted origins from the ports outside production', () => {
    const config = loadConfig({ AUTH_API_PORT: '4710', NOTES_API_PORT: '4712' });
    expect(config.issuer).toBe('http://localhost:4710');
    expect(config.trustedOrigins).toEqual([
      'http://localhost:4710',
      'http://127.0.0.1:4710',
      'http://localhost:3001',
      'http://127.0.0.1:3001',
      'http://localhost:4712',
      'http://127.0.0.1:4712',
    ]);
  });

  it('keeps an issuer and trusted origins that are set', () => {
    const config = loadConfig({
      AUTH_API_PORT: '4710',
      ISSUER: 'https://auth.example.com',
      TRUSTED_ORIGINS: 'https://app.example.com',
    });
    expect(config.issuer).toBe('https://auth.example.com');
    expect(config.trustedOrigins).toEqual(['https://app.example.com']);
  });

  it('requires ISSUER in production and derives nothing there', () => {
    const production = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://db/gh',
      KEY_ENCRYPTION_KEY: 'q7Nw2b1mZ0pQ9xYv3LkR8sT4uV6wX0yZ1aB2cD3eF4g=',
      AUTH_API_PORT: '4710',
      SMTP_URL: 'smtps://user:pass@mail.example.com',
    };
    expect(problemsOf(production)).toEqual([
      'ISSUER: expected the public URL of auth-api in production (the `iss` of its tokens)',
    ]);
    const config = loadConfig({ ...production, ISSUER: 'https://auth.example.com' });
    expect(config.issuer).toBe('https://auth.example.com');
    expect(config.trustedOrigins).toEqual(['http://localhost:3000', 'http://localhost:3001']);
  });

  it('refuses the same port for both apps', () => {
    expect(problemsOf({ AUTH_API_PORT: '4000', ADMIN_API_PORT: '4000' })).toEqual([
      'ADMIN_API_PORT: expected a port different from AUTH_API_PORT',
    ]);
  });

  describe('mail', () => {
    const production = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://db/gh',
      KEY_ENCRYPTION_KEY: 'q7Nw2b1mZ0pQ9xYv3LkR8sT4uV6wX0yZ1aB2cD3eF4g=',
      ISSUER: 'https://auth.example.com',
    };

    it('requires SMTP_URL in production, whatever notices are on: reset and verification mail', () => {
      const problem =
        'SMTP_URL: expected an smtp:// or smtps:// URL in production (password reset and email verification send mail)';
      expect(problemsOf(production)).toEqual([problem]);
      expect(problemsOf({ ...production, NOTIFY_PASSWORD_CHANGED: 'false' })).toEqual([problem]);
      expect(problemsOf({ ...production, SMTP_URL: 'smtps://mail.example.com' })).toEqual([]);
    });

    it('leaves SMTP_URL optional outside production', () => {
      expect(loadConfig({}).mail.smtpUrl).toBeUndefined();
    });

    it('accepts smtp:// and smtps:// URLs with credentials, and refuses others without echoing them', () => {
      const url = 'smtps://mailer:s3cret@mail.example.com:465';
      expect(loadConfig({ SMTP_URL: url }).mail.smtpUrl).toBe(url);
      const problems = problemsOf({ SMTP_URL: 'http://mailer:s3cret@mail.example.com' });
      expect(problems).toEqual([
        'SMTP_URL: expected an smtp:// or smtps:// URL (smtp://user:pass@host:587)',
      ]);
      expect(problems.join()).not.toContain('s3cret');
    });

    it('defaults the sender and the product name from the issuer', () => {
      const { mail, jobs } = loadConfig({ ISSUER: 'https://auth.example.com' });
      expect(mail).toMatchObject({
        from: 'Gatehouse <no-reply@auth.example.com>',
        productName: 'Gatehouse',
        maxAttempts: 10,
        notifyPasswordChanged: true,
        catcher: { port: 1080, smtpPort: 1025 },
      });
      expect(jobs).toEqual({ concurrency: 2, pollIntervalMs: 2000, staleLockSeconds: 300 });
      expect(loadConfig({ PRODUCT_NAME: 'Acme ID' }).mail.from).toBe(
        'Acme ID <no-reply@localhost>',
      );
    });

    it.each(['no-reply@example.com', 'Acme <no-reply@example.com>'])(
      'accepts MAIL_FROM %s',
      (from) => {
        expect(loadConfig({ MAIL_FROM: from }).mail.from).toBe(from);
      },
    );

    it.each(['not an address', 'Acme <nobody>', 'a@b\r\nBcc: x@y'])(
      'refuses MAIL_FROM %j',
      (from) => {
        expect(problemsOf({ MAIL_FROM: from })).toEqual([
          'MAIL_FROM: expected an address, or a name and an address: Gatehouse <no-reply@example.com>',
        ]);
      },
    );
  });
});
