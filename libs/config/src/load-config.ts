import { type Env, type EnvName, envSchema } from './env.schema.js';

export interface GatehouseConfig {
  readonly environment: Env['NODE_ENV'];
  readonly database: {
    /** Undefined means "start or use the embedded PostgreSQL". */
    readonly url: string | undefined;
    readonly poolSize: number;
    /** Connections of the pipelined client (0: none). */
    readonly pipelinePoolSize: number;
    readonly connectTimeoutMs: number;
    readonly migrationsRun: boolean;
  };
  readonly dataDir: string;
  readonly host: string;
  readonly authApi: { readonly port: number };
  readonly adminApi: { readonly port: number };
  readonly notesApi: { readonly port: number };
  readonly issuer: string;
  readonly trustedOrigins: readonly string[];
  /** Echoed by the health endpoints (`Gatehouse-Instance`), so a launcher knows its own apps. */
  readonly instanceId: string | undefined;
  readonly redisUrl: string | undefined;
  readonly logLevel: Env['LOG_LEVEL'];
  readonly http: {
    readonly bodyLimitBytes: number;
    readonly trustProxy: Env['TRUST_PROXY'];
  };
  readonly session: {
    /** `__Host-gh_session` when the issuer is https (RFC 6265bis cookie prefixes), else `gh_session`. */
    readonly cookieName: string;
    readonly idleTimeoutSeconds: number;
    readonly absoluteTimeoutSeconds: number;
    readonly touchIntervalSeconds: number;
    readonly retentionSeconds: number;
    readonly cleanupIntervalSeconds: number;
    readonly cacheTtlSeconds: number;
    readonly cacheMaxEntries: number;
  };
  readonly loginLimits: {
    readonly attemptsPerAccount: number;
    readonly attemptsPerIp: number;
    readonly windowSeconds: number;
  };
  readonly registrationLimits: {
    readonly attemptsPerIp: number;
    readonly windowSeconds: number;
  };
  readonly passwordReset: {
    readonly ttlSeconds: number;
    readonly requestsPerAddress: number;
    readonly requestsPerIp: number;
    readonly windowSeconds: number;
  };
  readonly passwordHashConcurrency: number;
  /** Hashes allowed to wait for a turn; beyond it requests are refused (SERVICE_BUSY). */
  readonly passwordHashQueueLimit: number;
  readonly tokens: {
    readonly accessTokenTtlSeconds: number;
    readonly audience: string;
    /** RFC 8707 resource indicator of admin-api; `aud` of tokens that may reach it. */
    readonly adminAudience: string;
    readonly refreshTokenTtlSeconds: number;
    readonly refreshFamilyMaxSeconds: number;
    readonly refreshReuseGraceSeconds: number;
    readonly firstPartyClientId: string;
    readonly deviceCodeTtlSeconds: number;
    readonly deviceCodeIntervalSeconds: number;
  };
  readonly keys: {
    readonly algorithm: Env['JWT_ALG'];
    /** Undefined until resolved: required with DATABASE_URL, generated for the embedded database. */
    readonly encryptionKey: Buffer | undefined;
  };
  readonly bootstrapOperator: { readonly email: string; readonly password: string } | undefined;
  readonly mail: {
    /** Undefined: mail is queued but no worker delivers it (outside production only). */
    readonly smtpUrl: string | undefined;
    readonly from: string;
    readonly productName: string;
    readonly maxAttempts: number;
    readonly notifyPasswordChanged: boolean;
    /** The development catcher `npm start` runs when `smtpUrl` is unset. */
    readonly catcher: { readonly port: number; readonly smtpPort: number };
  };
  readonly backchannelLogout: {
    /** Attempts of one logout token's delivery before it is `dead`. */
    readonly maxAttempts: number;
  };
  readonly emailVerification: {
    readonly ttlSeconds: number;
    readonly mailsPerUser: number;
    readonly windowSeconds: number;
    /** Only verified addresses may sign in. */
    readonly required: boolean;
  };
  readonly mfa: {
    /** Roles whose holders must sign in with a second factor to use admin-api (none: empty). */
    readonly requiredRoles: readonly string[];
  };
  readonly outbound: {
    /** Private and loopback targets allowed (never link-local or metadata addresses). */
    readonly allowPrivate: boolean;
    /** HTTPS only (production). */
    readonly httpsOnly: boolean;
    readonly timeoutMs: number;
  };
  readonly webhooks: {
    /** Delay before each attempt, in seconds; its length is the number of attempts. */
    readonly retryScheduleSeconds: readonly number[];
    readonly disableAfterSeconds: number;
  };
  readonly jobs: {
    /** 0: this instance runs no worker. */
    readonly concurrency: number;
    readonly pollIntervalMs: number;
    /** A lock older than this belongs to a dead worker: released for another one. */
    readonly staleLockSeconds: number;
  };
}

/** Raised when the environment is invalid; the message names every variable and what it expects. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type RawEnv = Readonly<Record<string, string | undefined>>;

function parseEnv(raw: RawEnv): { env: Partial<Env>; problems: string[] } {
  const env: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(envSchema) as [
    EnvName,
    (typeof envSchema)[EnvName],
  ][]) {
    const given = raw[name];
    const text = given === undefined || given === '' ? spec.default : given;
    if (text === undefined) {
      continue;
    }
    const value = spec.parse(text);
    if (value === undefined) {
      problems.push(`${name}: expected ${spec.expectation}`);
    } else {
      env[name] = value;
    }
  }
  return { env: env, problems };
}

function crossCheck(env: Partial<Env>): string[] {
  const problems: string[] = [];
  if ((env.ADMIN_EMAIL === undefined) !== (env.ADMIN_PASSWORD === undefined)) {
    problems.push('ADMIN_EMAIL and ADMIN_PASSWORD: expected both to be set, or neither');
  }
  if (env.NODE_ENV === 'production' && env.DATABASE_URL === undefined) {
    problems.push(
      'DATABASE_URL: expected a PostgreSQL URL in production (the embedded database is for development)',
    );
  }
  if (
    env.SESSION_IDLE_TIMEOUT_SECONDS !== undefined &&
    env.SESSION_ABSOLUTE_TIMEOUT_SECONDS !== undefined &&
    env.SESSION_IDLE_TIMEOUT_SECONDS > env.SESSION_ABSOLUTE_TIMEOUT_SECONDS
  ) {
    problems.push(
      'SESSION_ABSOLUTE_TIMEOUT_SECONDS: expected a value not below SESSION_IDLE_TIMEOUT_SECONDS',
    );
  }
  if (
    env.REFRESH_TOKEN_TTL_SECONDS !== undefined &&
    env.REFRESH_FAMILY_MAX_SECONDS !== undefined &&
    env.REFRESH_TOKEN_TTL_SECONDS > env.REFRESH_FAMILY_MAX_SECONDS
  ) {
    problems.push(
      'REFRESH_FAMILY_MAX_SECONDS: expected a value not below REFRESH_TOKEN_TTL_SECONDS',
    );
  }
  if (env.NODE_ENV === 'production' && env.KEY_ENCRYPTION_KEY === undefined) {
    problems.push('KEY_ENCRYPTION_KEY: expected 32 random bytes in base64 in production');
  }
  if (env.NODE_ENV === 'production' && env.ISSUER === undefined) {
    problems.push(
      'ISSUER: expected the public URL of auth-api in production (the `iss` of its tokens)',
    );
  }
  // Password reset and email verification cannot be switched off, so production always sends mail:
  // without SMTP_URL their links would wait in the queue for ever.
  if (env.NODE_ENV === 'production' && env.SMTP_URL === undefined) {
    problems.push(
      'SMTP_URL: expected an smtp:// or smtps:// URL in production (password reset and email verification send mail)',
    );
  }
  if (env.AUTH_API_PORT !== undefined && env.AUTH_API_PORT === env.ADMIN_API_PORT) {
    problems.push('ADMIN_API_PORT: expected a port different from AUTH_API_PORT');
  }
  return problems;
}

const isSet = (raw: RawEnv, name: EnvName) => raw[name] !== undefined && raw[name] !== '';

/**
 * Outside production the issuer and the trusted origins follow the ports, so changing AUTH_API_PORT
 * alone keeps the apps agreeing, and both loopback spellings work from a browser (the launcher prints
 * `localhost`; people type `127.0.0.1` too). Production keeps what it is given.
 */
function withDevelopmentDefaults(raw: RawEnv, env: Env): Env {
  if (env.NODE_ENV === 'production') {
    return env;
  }
  const ports = [env.AUTH_API_PORT, env.ADMIN_API_PORT, env.NOTES_API_PORT];
  return {
    ...env,
    ISSUER: isSet(raw, 'ISSUER') ? env.ISSUER : `http://localhost:${env.AUTH_API_PORT}`,
    TRUSTED_ORIGINS: isSet(raw, 'TRUSTED_ORIGINS')
      ? env.TRUSTED_ORIGINS
      : [...new Set(ports)].flatMap((port) => [
          `http://localhost:${port}`,
          `http://127.0.0.1:${port}`,
        ]),
  };
}

function deepFreeze<T>(value: T): T {
  // Buffers (keys) cannot be frozen; they are never handed out for writing.
  if (value && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

/**
 * Reads the environment once into a typed, frozen configuration. Fails fast with every invalid variable
 * named, never echoing the offending value (it may be a secret).
 */
export function loadConfig(raw: RawEnv = process.env): GatehouseConfig {
  const { env, problems } = parseEnv(raw);
  problems.push(...crossCheck(env));
  if (problems.length > 0) {
    throw new ConfigError(problems);
  }
  const valid = withDevelopmentDefaults(raw, env as Env);
  return deepFreeze({
    environment: valid.NODE_ENV,
    database: {
      url: valid.DATABASE_URL,
      poolSize: valid.DATABASE_POOL_SIZE,
      pipelinePoolSize: valid.DATABASE_PIPELINE_POOL_SIZE,
      connectTimeoutMs: valid.DATABASE_CONNECT_TIMEOUT_MS,
      migrationsRun: valid.MIGRATIONS_RUN,
    },
    dataDir: valid.DATA_DIR,
    host: valid.HOST,
    authApi: { port: valid.AUTH_API_PORT },
    adminApi: { port: valid.ADMIN_API_PORT },
    notesApi: { port: valid.NOTES_API_PORT },
    issuer: valid.ISSUER,
    trustedOrigins: valid.TRUSTED_ORIGINS,
    instanceId: valid.INSTANCE_ID,
    redisUrl: valid.REDIS_URL,
    logLevel: valid.LOG_LEVEL,
    http: { bodyLimitBytes: valid.HTTP_BODY_LIMIT_BYTES, trustProxy: valid.TRUST_PROXY },
    session: {
      cookieName: valid.ISSUER.startsWith('https:') ? '__Host-gh_session' : 'gh_session',
      idleTimeoutSeconds: valid.SESSION_IDLE_TIMEOUT_SECONDS,
      absoluteTimeoutSeconds: valid.SESSION_ABSOLUTE_TIMEOUT_SECONDS,
      touchIntervalSeconds: valid.SESSION_TOUCH_INTERVAL_SECONDS,
      retentionSeconds: valid.SESSION_RETENTION_SECONDS,
      cleanupIntervalSeconds: valid.SESSION_CLEANUP_INTERVAL_SECONDS,
      cacheTtlSeconds: valid.SESSION_CACHE_TTL_SECONDS,
      cacheMaxEntries: valid.SESSION_CACHE_MAX_ENTRIES,
    },
    loginLimits: {
      attemptsPerAccount: valid.LOGIN_MAX_ATTEMPTS_PER_ACCOUNT,
      attemptsPerIp: valid.LOGIN_MAX_ATTEMPTS_PER_IP,
      windowSeconds: valid.LOGIN_ATTEMPT_WINDOW_SECONDS,
    },
    registrationLimits: {
      attemptsPerIp: valid.REGISTRATION_ATTEMPTS_PER_IP,
      windowSeconds: valid.REGISTRATION_WINDOW_SECONDS,
    },
    passwordReset: {
      ttlSeconds: valid.PASSWORD_RESET_TTL_SECONDS,
      requestsPerAddress: valid.PASSWORD_RESET_REQUESTS_PER_ADDRESS,
      requestsPerIp: valid.PASSWORD_RESET_REQUESTS_PER_IP,
      windowSeconds: valid.PASSWORD_RESET_WINDOW_SECONDS,
    },
    passwordHashConcurrency: valid.PASSWORD_HASH_CONCURRENCY,
    passwordHashQueueLimit: valid.PASSWORD_HASH_QUEUE_LIMIT,
    tokens: {
      accessTokenTtlSeconds: valid.ACCESS_TOKEN_TTL_SECONDS,
      audience: valid.ACCESS_TOKEN_AUDIENCE,
      adminAudience: valid.ADMIN_API_AUDIENCE,
      refreshTokenTtlSeconds: valid.REFRESH_TOKEN_TTL_SECONDS,
      refreshFamilyMaxSeconds: valid.REFRESH_FAMILY_MAX_SECONDS,
      refreshReuseGraceSeconds: valid.REFRESH_REUSE_GRACE_SECONDS,
      firstPartyClientId: valid.FIRST_PARTY_CLIENT_ID,
      deviceCodeTtlSeconds: valid.DEVICE_CODE_TTL_SECONDS,
      deviceCodeIntervalSeconds: valid.DEVICE_CODE_INTERVAL_SECONDS,
    },
    keys: { algorithm: valid.JWT_ALG, encryptionKey: valid.KEY_ENCRYPTION_KEY },
    bootstrapOperator:
      valid.ADMIN_EMAIL && valid.ADMIN_PASSWORD
        ? { email: valid.ADMIN_EMAIL, password: valid.ADMIN_PASSWORD }
        : undefined,
    mail: {
      smtpUrl: valid.SMTP_URL,
      from: valid.MAIL_FROM ?? `${valid.PRODUCT_NAME} <no-reply@${new URL(valid.ISSUER).hostname}>`,
      productName: valid.PRODUCT_NAME,
      maxAttempts: valid.MAIL_MAX_ATTEMPTS,
      notifyPasswordChanged: valid.NOTIFY_PASSWORD_CHANGED,
      catcher: { port: valid.MAIL_CATCHER_PORT, smtpPort: valid.MAIL_CATCHER_SMTP_PORT },
    },
    backchannelLogout: { maxAttempts: valid.BACKCHANNEL_LOGOUT_MAX_ATTEMPTS },
    emailVerification: {
      ttlSeconds: valid.EMAIL_VERIFICATION_TTL_SECONDS,
      mailsPerUser: valid.EMAIL_VERIFICATION_MAILS_PER_USER,
      windowSeconds: valid.EMAIL_VERIFICATION_WINDOW_SECONDS,
      required: valid.REQUIRE_VERIFIED_EMAIL,
    },
    mfa: { requiredRoles: valid.MFA_REQUIRED_ROLES },
    outbound: {
      allowPrivate: valid.OUTBOUND_ALLOW_PRIVATE,
      httpsOnly: valid.NODE_ENV === 'production',
      timeoutMs: valid.OUTBOUND_TIMEOUT_MS,
    },
    webhooks: {
      retryScheduleSeconds: valid.WEBHOOK_RETRY_SCHEDULE,
      disableAfterSeconds: valid.WEBHOOK_DISABLE_AFTER_SECONDS,
    },
    jobs: {
      concurrency: valid.JOB_WORKER_CONCURRENCY,
      pollIntervalMs: valid.JOB_POLL_INTERVAL_MS,
      staleLockSeconds: valid.JOB_STALE_LOCK_SECONDS,
    },
  });
}

/** The environment for a child process: this one's, plus overrides (the launcher's embedded URL…). */
export function childEnvironment(overrides: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  return { ...process.env, ...overrides };
}
