import { availableParallelism } from 'node:os';

/**
 * Every environment variable Gatehouse reads, declared once: how it is parsed, its default and what it
 * means. `load-config.ts` validates against this table and the configuration table of
 * docs/operators.md is rendered from it (`npm run config:table`), so the docs cannot drift from the code.
 */
export interface EnvVariable<T> {
  /** What a valid value looks like; printed when the variable is rejected (never the value itself). */
  readonly expectation: string;
  readonly description: string;
  /** The raw default, as it would be written in the environment. */
  readonly default?: string;
  /** The default as documented, when `load-config.ts` computes it from other variables. */
  readonly computedDefault?: string;
  readonly parse: (raw: string) => T | undefined;
}

function variable<T>(spec: EnvVariable<T>): EnvVariable<T> {
  return spec;
}

const integer = (min: number, max: number) => (raw: string) => {
  if (!/^\d+$/.test(raw)) {
    return undefined;
  }
  const value = Number(raw);
  return value >= min && value <= max ? value : undefined;
};

const port = integer(1, 65535);

const boolean = (raw: string) =>
  ({ true: true, '1': true, false: false, '0': false })[raw.toLowerCase()];

const oneOf =
  <T extends string>(...values: T[]) =>
  (raw: string): T | undefined =>
    values.find((value) => value === raw);

function parseUrl(raw: string, protocols: string[]): URL | undefined {
  try {
    const url = new URL(raw);
    return protocols.includes(url.protocol) ? url : undefined;
  } catch {
    return undefined;
  }
}

/** An origin is scheme://host[:port] with nothing after it (RFC 6454). */
function parseOrigin(raw: string): string | undefined {
  const url = parseUrl(raw, ['http:', 'https:']);
  return url && url.origin === raw.replace(/\/$/, '') ? url.origin : undefined;
}

function parseList<T>(raw: string, item: (entry: string) => T | undefined): T[] | undefined {
  const entries = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const parsed = entries.map(item);
  return parsed.every((value) => value !== undefined) ? parsed : undefined;
}

const nonEmpty = (raw: string) => (raw.trim() ? raw.trim() : undefined);

/** 32 random bytes in base64; a key of one repeated byte (all zeros…) is a placeholder, refused. */
function parseKey(raw: string): Buffer | undefined {
  const trimmed = raw.trim();
  if (!/^[A-Za-z0-9+/]{43}=$/.test(trimmed)) {
    return undefined;
  }
  const key = Buffer.from(trimmed, 'base64');
  return key.length === 32 && !key.every((byte) => byte === key[0]) ? key : undefined;
}

const IPV4_OR_CIDR = /^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/;
const IPV6_OR_CIDR = /^[0-9a-fA-F:]+(\/\d{1,3})?$/;

/** Fastify's `trustProxy`: false, true, a hop count, or the addresses/CIDRs of the trusted proxies. */
function parseTrustProxy(raw: string): boolean | number | string[] | undefined {
  const flag = boolean(raw);
  if (flag !== undefined) {
    return flag;
  }
  if (/^\d+$/.test(raw)) {
    return integer(1, 10)(raw);
  }
  return parseList(raw, (entry) =>
    IPV4_OR_CIDR.test(entry) || (entry.includes(':') && IPV6_OR_CIDR.test(entry))
      ? entry
      : undefined,
  );
}

export const envSchema = {
  NODE_ENV: variable({
    expectation: 'one of development, production, test',
    description: 'Run mode. `production` requires `DATABASE_URL` (no embedded database).',
    default: 'development',
    parse: oneOf('development', 'production', 'test'),
  }),
  DATABASE_URL: variable({
    expectation: 'a postgres:// or postgresql:// URL',
    description:
      'PostgreSQL connection URL. Unset: `npm start` runs an embedded PostgreSQL with its data under `DATA_DIR`.',
    parse: (raw) => parseUrl(raw, ['postgres:', 'postgresql:'])?.href,
  }),
  DATABASE_POOL_SIZE: variable({
    expectation: 'an integer from 1 to 200',
    description: 'Maximum PostgreSQL connections per app instance.',
    default: '10',
    parse: integer(1, 200),
  }),
  DATABASE_PIPELINE_POOL_SIZE: variable({
    expectation: 'an integer from 0 to 200',
    description:
      "Connections per app instance of the pipelined client (postgres.js) that serves the refresh grant's rotation, besides `DATABASE_POOL_SIZE`; 0 sends it through the main pool.",
    default: '4',
    parse: integer(0, 200),
  }),
  DATABASE_CONNECT_TIMEOUT_MS: variable({
    expectation: 'an integer from 100 to 60000',
    description:
      'How long a request waits for a database connection before it answers 503 `DATABASE_UNAVAILABLE`.',
    default: '3000',
    parse: integer(100, 60_000),
  }),
  DATA_DIR: variable({
    expectation: 'a directory path',
    description: 'Where the embedded PostgreSQL (and generated development secrets) live.',
    default: '.gatehouse',
    parse: nonEmpty,
  }),
  MIGRATIONS_RUN: variable({
    expectation: 'true or false',
    description: 'Apply pending migrations when an app starts (serialised by an advisory lock).',
    default: 'true',
    parse: boolean,
  }),
  AUTH_API_PORT: variable({
    expectation: 'an integer port from 1 to 65535',
    description: 'HTTP port of auth-api.',
    default: '3000',
    parse: port,
  }),
  ADMIN_API_PORT: variable({
    expectation: 'an integer port from 1 to 65535',
    description: 'HTTP port of admin-api.',
    default: '3001',
    parse: port,
  }),
  NOTES_API_PORT: variable({
    expectation: 'an integer port from 1 to 65535',
    description:
      'HTTP port of notes-api, the example sibling app (it reads this, `ISSUER`, `DATABASE_URL`, `HOST`, `TRUSTED_ORIGINS` and `INSTANCE_ID` itself).',
    default: '3002',
    parse: port,
  }),
  HOST: variable({
    expectation: 'an interface address such as 127.0.0.1 or 0.0.0.0',
    description: 'Address the apps listen on.',
    default: '127.0.0.1',
    parse: nonEmpty,
  }),
  ISSUER: variable({
    expectation: 'an http(s) URL without query or fragment',
    description:
      'Public base URL of auth-api: the `iss` of its tokens. An https issuer switches the session cookie to the `__Host-` prefix. Required in production.',
    computedDefault: 'outside production, `http://localhost:<AUTH_API_PORT>`',
    parse: (raw) => {
      const url = parseUrl(raw, ['http:', 'https:']);
      return url && !url.search && !url.hash ? url.href.replace(/\/$/, '') : undefined;
    },
  }),
  TRUSTED_ORIGINS: variable({
    expectation: 'a comma-separated list of origins such as https://app.example.com',
    description:
      'Browser origins allowed to make credentialed CORS calls and cookie-authenticated writes.',
    default: 'http://localhost:3000,http://localhost:3001',
    computedDefault:
      'outside production, `http://localhost:<port>` and `http://127.0.0.1:<port>` for `AUTH_API_PORT`, `ADMIN_API_PORT` and `NOTES_API_PORT`; in production `http://localhost:3000,http://localhost:3001`',
    parse: (raw) => parseList(raw, parseOrigin),
  }),
  INSTANCE_ID: variable({
    expectation: 'a non-empty string',
    description:
      'Echoed by the health endpoints in the `Gatehouse-Instance` response header. `npm start` gives its apps a fresh one per run, so its readiness probe only counts answers from its own apps.',
    parse: nonEmpty,
  }),
  REDIS_URL: variable({
    expectation: 'a redis:// or rediss:// URL',
    description:
      'Optional Redis: shared rate-limit counters, session cache and revocation pub/sub across instances.',
    parse: (raw) => parseUrl(raw, ['redis:', 'rediss:'])?.href,
  }),
  LOG_LEVEL: variable({
    expectation: 'one of fatal, error, warn, info, debug, trace, silent',
    description: 'Minimum level of the structured (JSON) logs.',
    default: 'info',
    parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
  }),
  TRUST_PROXY: variable({
    expectation:
      'true, false, a hop count from 1 to 10, or a comma-separated list of proxy IPs/CIDRs',
    description:
      'Which reverse proxies may set `X-Forwarded-For`/`-Proto`. The client IP (rate limits, session list, audit) is the socket peer unless this trusts the proxy in front.',
    default: 'false',
    parse: parseTrustProxy,
  }),
  HTTP_BODY_LIMIT_BYTES: variable({
    expectation: 'an integer from 1024 to 10485760',
    description: 'Largest request body accepted; larger bodies get 413 `PAYLOAD_TOO_LARGE`.',
    default: '65536',
    parse: integer(1024, 10 * 1024 * 1024),
  }),
  SESSION_IDLE_TIMEOUT_SECONDS: variable({
    expectation: 'an integer from 60 to 31536000',
    description:
      'A cookie session unused for this long expires (`SESSION_EXPIRED`); each use slides it forward.',
    default: '86400',
    parse: integer(60, 31_536_000),
  }),
  SESSION_ABSOLUTE_TIMEOUT_SECONDS: variable({
    expectation: 'an integer from 60 to 31536000, not below SESSION_IDLE_TIMEOUT_SECONDS',
    description:
      'A cookie session expires this long after login however active it is; the cookie Max-Age.',
    default: '604800',
    parse: integer(60, 31_536_000),
  }),
  SESSION_TOUCH_INTERVAL_SECONDS: variable({
    expectation: 'an integer from 0 to 3600',
    description:
      'Sliding expiry writes `last_seen_at` at most once per this interval per session (0: on every request).',
    default: '60',
    parse: integer(0, 3600),
  }),
  SESSION_RETENTION_SECONDS: variable({
    expectation: 'an integer from 0 to 31536000',
    description:
      'How long an ended (expired or revoked) session stays listed for operators before housekeeping deletes it.',
    default: '2592000',
    parse: integer(0, 31_536_000),
  }),
  SESSION_CACHE_TTL_SECONDS: variable({
    expectation: 'an integer from 0 to 60',
    description:
      "auth-api and admin-api keep a validated session cookie (and auth-api a bearer caller's `GET /me` answer) in memory this long (0: every request reads PostgreSQL). Revocation, logout, disabling and role changes evict at once through the revocation feed.",
    default: '5',
    parse: integer(0, 60),
  }),
  SESSION_CACHE_MAX_ENTRIES: variable({
    expectation: 'an integer from 1 to 10000000',
    description: 'Upper bound of that in-memory session cache, per process.',
    default: '100000',
    parse: integer(1, 10_000_000),
  }),
  SESSION_CLEANUP_INTERVAL_SECONDS: variable({
    expectation: 'an integer from 0 to 86400',
    description: 'How often auth-api deletes sessions past their retention, in batches (0: never).',
    default: '3600',
    parse: integer(0, 86_400),
  }),
  LOGIN_MAX_ATTEMPTS_PER_ACCOUNT: variable({
    expectation: 'an integer from 1 to 10000',
    description:
      'Password attempts per email address per window; further attempts get 429 `RATE_LIMITED`. A successful login resets the count.',
    default: '10',
    parse: integer(1, 10_000),
  }),
  LOGIN_MAX_ATTEMPTS_PER_IP: variable({
    expectation: 'an integer from 1 to 1000000',
    description:
      'Failed password attempts per client IP per window, across all accounts (credential stuffing).',
    default: '100',
    parse: integer(1, 1_000_000),
  }),
  PASSWORD_HASH_CONCURRENCY: variable({
    expectation: '`auto` or an integer from 1 to 64',
    description:
      'Password hashes (argon2id) computed at once per process; more wait their turn. `auto`: one less than the CPU count (at least 1), so a login storm cannot starve the event loop.',
    default: 'auto',
    parse: (raw: string) =>
      raw === 'auto' ? Math.max(1, availableParallelism() - 1) : integer(1, 64)(raw),
  }),
  LOGIN_ATTEMPT_WINDOW_SECONDS: variable({
    expectation: 'an integer from 1 to 86400',
    description:
      'Window of the login limits. Counters live in Redis when `REDIS_URL` is set (shared by every instance), in memory otherwise.',
    default: '900',
    parse: integer(1, 86_400),
  }),
  PASSWORD_HASH_QUEUE_LIMIT: variable({
    expectation: 'an integer from 0 to 100000',
    description:
      'Password hashes allowed to wait for a turn per process. Sign-in checks are served before registration and password-change hashes (and push the newest of those out when the queue is full); past the limit a request gets 503 `SERVICE_BUSY` (`temporarily_unavailable` at `/oauth/token`) with `Retry-After`.',
    default: '64',
    parse: integer(0, 100_000),
  }),
  REGISTRATION_ATTEMPTS_PER_IP: variable({
    expectation: 'an integer from 1 to 1000000',
    description:
      'Registration attempts (`POST /auth/register`) per client IP per window, counted whatever their outcome (created, refused by validation, `EMAIL_TAKEN`…). A budget of its own beside the login limits; past it, 429 `RATE_LIMITED` with `Retry-After`.',
    default: '10',
    parse: integer(1, 1_000_000),
  }),
  REGISTRATION_WINDOW_SECONDS: variable({
    expectation: 'an integer from 1 to 604800',
    description:
      'Window of the registration limit (shared through Redis when `REDIS_URL` is set, like the login limits).',
    default: '3600',
    parse: integer(1, 604_800),
  }),
  PASSWORD_RESET_TTL_SECONDS: variable({
    expectation: 'an integer from 300 to 86400',
    description:
      'How long a password reset link works. It works once, and a newer request or any change of the password voids it.',
    default: '1800',
    parse: integer(300, 86_400),
  }),
  PASSWORD_RESET_REQUESTS_PER_ADDRESS: variable({
    expectation: 'an integer from 1 to 1000',
    description:
      'Password reset requests (`POST /auth/password/forgot`, the forgot-password page) per email address per `PASSWORD_RESET_WINDOW_SECONDS`, counted alike for addresses with and without an account; beyond it 429 `RATE_LIMITED` with `Retry-After`.',
    default: '3',
    parse: integer(1, 1000),
  }),
  PASSWORD_RESET_REQUESTS_PER_IP: variable({
    expectation: 'an integer from 1 to 1000000',
    description:
      'Password reset requests per client IP per `PASSWORD_RESET_WINDOW_SECONDS`, whatever the address; beyond it 429 `RATE_LIMITED` with `Retry-After`.',
    default: '20',
    parse: integer(1, 1_000_000),
  }),
  PASSWORD_RESET_WINDOW_SECONDS: variable({
    expectation: 'an integer from 60 to 604800',
    description:
      'Window of the password reset request limits (shared through Redis when `REDIS_URL` is set, like the login limits).',
    default: '3600',
    parse: integer(60, 604_800),
  }),
  ACCESS_TOKEN_TTL_SECONDS: variable({
    expectation: 'an integer from 60 to 900',
    description:
      'Lifetime of JWT access tokens (at most 15 minutes: revocation reaches local verifiers through the feed, kept that long).',
    default: '900',
    parse: integer(60, 900),
  }),
  ACCESS_TOKEN_AUDIENCE: variable({
    expectation: 'a non-empty string',
    description:
      'The `aud` of access tokens: the resource servers of this deployment. Published in the discovery document as `gatehouse_access_token_audience`.',
    default: 'gatehouse',
    parse: nonEmpty,
  }),
  ADMIN_API_AUDIENCE: variable({
    expectation: 'an absolute URI (RFC 8707 resource indicator)',
    description:
      'The `aud` that admin-api accepts, and the `resource` a first-party client asks for to reach it. Only tokens granted the reserved `admin` scope (first-party clients, operators) carry it.',
    default: 'urn:gatehouse:admin-api',
    parse: (raw) => (/^[A-Za-z][A-Za-z0-9+.-]*:[^\s#]+$/.test(raw) ? raw : undefined),
  }),
  REFRESH_TOKEN_TTL_SECONDS: variable({
    expectation: 'an integer from 60 to 31536000',
    description:
      'A refresh token unused for this long expires; each rotation issues a successor with a fresh lifetime.',
    default: '604800',
    parse: integer(60, 31_536_000),
  }),
  REFRESH_FAMILY_MAX_SECONDS: variable({
    expectation: 'an integer from 60 to 31536000, not below REFRESH_TOKEN_TTL_SECONDS',
    description:
      'Absolute lifetime of a token session (a refresh-token family), however often it is refreshed.',
    default: '2592000',
    parse: integer(60, 31_536_000),
  }),
  REFRESH_REUSE_GRACE_SECONDS: variable({
    expectation: 'an integer from 0 to 60',
    description:
      'A replay of the immediate predecessor within this window gets the successor already issued (two tabs, a retried request); after it, reuse revokes the family. 0 disables the grace.',
    default: '10',
    parse: integer(0, 60),
  }),
  DEVICE_CODE_TTL_SECONDS: variable({
    expectation: 'an integer from 60 to 1800',
    description:
      'Lifetime of a device authorization request (RFC 8628): the user has this long to enter the code.',
    default: '600',
    parse: integer(60, 1800),
  }),
  DEVICE_CODE_INTERVAL_SECONDS: variable({
    expectation: 'an integer from 1 to 60',
    description:
      'Seconds a device must wait between polls of the token endpoint; a device that polls faster gets `slow_down` and 5 s more.',
    default: '5',
    parse: integer(1, 60),
  }),
  JWT_ALG: variable({
    expectation: 'one of ES256, RS256, EdDSA',
    description: 'Algorithm of newly generated signing keys (existing keys keep theirs).',
    default: 'ES256',
    parse: oneOf('ES256', 'RS256', 'EdDSA'),
  }),
  KEY_ENCRYPTION_KEY: variable({
    expectation: '32 random bytes in base64 (openssl rand -base64 32)',
    description:
      'Encrypts private signing keys and TOTP secrets at rest (AES-256-GCM). Required with `DATABASE_URL`; with the embedded database one is generated into `DATA_DIR` (with a warning).',
    parse: parseKey,
  }),
  SMTP_URL: variable({
    expectation: 'an smtp:// or smtps:// URL (smtp://user:pass@host:587)',
    description:
      'Where mail is sent: `smtp://` (STARTTLS when the server offers it) or `smtps://` (TLS from the first byte), with `user:pass@` when the server wants a login. Required in production (password reset and email verification always send mail). Unset outside production: mail is queued but not sent, except under `npm start`, which runs a local mail catcher and points this at it.',
    parse: (raw) => {
      const url = parseUrl(raw.trim(), ['smtp:', 'smtps:']);
      return url?.hostname ? url.href : undefined;
    },
  }),
  MAIL_FROM: variable({
    expectation: 'an address, or a name and an address: Gatehouse <no-reply@example.com>',
    description: 'Sender of every mail.',
    computedDefault: '`<PRODUCT_NAME> <no-reply@<host of ISSUER>>`',
    parse: (raw) =>
      /^([^<>\r\n]*<[^\s@<>]+@[^\s@<>]+>|[^\s@<>]+@[^\s@<>]+)$/.test(raw.trim())
        ? raw.trim()
        : undefined,
  }),
  PRODUCT_NAME: variable({
    expectation: 'a name of 1 to 64 characters on one line',
    description: 'The product name users see in mail subjects, mail bodies and pages.',
    default: 'Gatehouse',
    parse: (raw) => (/^[^\r\n]{1,64}$/.test(raw.trim()) ? raw.trim() : undefined),
  }),
  NOTIFY_PASSWORD_CHANGED: variable({
    expectation: 'true or false',
    description:
      'Mail a notice to the user whenever their password changes (OWASP: tell the owner of the account).',
    default: 'true',
    parse: boolean,
  }),
  MAIL_MAX_ATTEMPTS: variable({
    expectation: 'an integer from 1 to 25',
    description:
      "Delivery attempts of one mail before it is kept as `dead` (listed at `GET /admin/mail`, retried by `POST /admin/mail/:id/retry`). Retries follow graphile-worker's backoff: e^n seconds after the n-th failure (2.7 s, 7.4 s, 20 s, 55 s, 2.5 min, 6.7 min, 18 min, 50 min, 2.3 h): with 10, a mail is dead about 3.6 hours after its first failure.",
    default: '10',
    parse: integer(1, 25),
  }),
  BACKCHANNEL_LOGOUT_MAX_ATTEMPTS: variable({
    expectation: 'an integer from 1 to 25',
    description:
      "Delivery attempts of one back-channel logout token (OpenID Connect Back-Channel Logout 1.0) before its delivery is kept as `dead` (listed at `GET /admin/clients/:id/logout-deliveries`, audited `client.backchannel_logout_failed`). Retries follow graphile-worker's backoff: e^n seconds after the n-th failure (2.7 s, 7.4 s, 20 s, 55 s, 2.5 min): with 6, a delivery is dead about 4 minutes after its first failure. Each attempt sends a freshly signed token (they live 2 minutes).",
    default: '6',
    parse: integer(1, 25),
  }),
  JOB_WORKER_CONCURRENCY: variable({
    expectation: 'an integer from 0 to 32',
    description:
      'Jobs (mail, webhook deliveries, back-channel logout tokens) each auth-api instance runs at once from the PostgreSQL job queue (graphile-worker; jobs are locked, so any number of instances may run workers). 0: this instance runs no worker (another instance must, or side effects wait in the queue).',
    default: '2',
    parse: integer(0, 32),
  }),
  JOB_POLL_INTERVAL_MS: variable({
    expectation: 'an integer from 100 to 60000',
    description:
      'New jobs wake the worker at once (LISTEN/NOTIFY); retries that come due are found by polling this often.',
    default: '2000',
    parse: integer(100, 60_000),
  }),
  JOB_STALE_LOCK_SECONDS: variable({
    expectation: 'an integer from 1 to 14400',
    description:
      'A job locked longer than this is taken to belong to a worker that died (an instance killed in the middle of a delivery) and is released for another worker, checked when a worker starts and then every minute (or this often, when shorter). Keep it well above the longest a job can take (a mail delivery gives up on an SMTP server that stops answering: 10 s to connect, 10 s for its greeting, 30 s of silence): a job released while its worker is still alive may be sent twice.',
    default: '300',
    parse: integer(1, 14_400),
  }),
  OUTBOUND_ALLOW_PRIVATE: variable({
    expectation: 'true or false',
    description:
      'Let outbound calls (webhook deliveries, back-channel logout tokens) reach private (10/8, 172.16/12, 192.168/16, fc00::/7, 100.64/10), loopback (127/8, ::1, `localhost`) and unspecified addresses. For development and tests with local receivers only. Link-local and cloud metadata addresses (169.254/16, fe80::/10, fd00:ec2::254, 100.100.100.200) are refused even then.',
    default: 'false',
    parse: boolean,
  }),
  OUTBOUND_TIMEOUT_MS: variable({
    expectation: 'an integer from 100 to 60000',
    description:
      'Outbound calls (webhooks, back-channel logout): time allowed to connect, and then for the response to arrive; past it the attempt fails (`timeout`) and is retried on the schedule.',
    default: '5000',
    parse: integer(100, 60_000),
  }),
  WEBHOOK_RETRY_SCHEDULE: variable({
    expectation: 'a comma-separated list of 1 to 20 delays in seconds (integers from 0 to 86400)',
    description:
      'Delays before each webhook delivery attempt, the first one included (Standard Webhooks schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h). After the last attempt fails the delivery is `failed`.',
    default: '0,5,300,1800,7200,18000,36000,36000',
    parse: (raw) => {
      const delays = parseList(raw, (entry) => integer(0, 86_400)(entry));
      return delays && delays.length >= 1 && delays.length <= 20 ? delays : undefined;
    },
  }),
  WEBHOOK_DISABLE_AFTER_SECONDS: variable({
    expectation: 'an integer from 60 to 2592000',
    description:
      'An endpoint whose deliveries have all failed for this long (no success since its first failure) is disabled, with the reason shown at `GET /admin/webhooks/:id` and audited (`webhook.endpoint_disabled`). Enable it again with `PATCH /admin/webhooks/:id {"enabled": true}`.',
    default: '86400',
    parse: integer(60, 2_592_000),
  }),
  MAIL_CATCHER_PORT: variable({
    expectation: 'an integer port from 1 to 65535',
    description:
      "`npm start` without `SMTP_URL` (outside production): port of the local mail catcher's page, which lists every mail the apps sent.",
    default: '1080',
    parse: port,
  }),
  MAIL_CATCHER_SMTP_PORT: variable({
    expectation: 'an integer port from 1 to 65535',
    description: 'SMTP port on which that local mail catcher receives the mail.',
    default: '1025',
    parse: port,
  }),
  EMAIL_VERIFICATION_TTL_SECONDS: variable({
    expectation: 'an integer from 300 to 604800',
    description:
      'How long a verification link (registration, `POST /me/email/verification`) and an email-change confirmation or cancel link work. Each link works once and a newer one voids it.',
    default: '86400',
    parse: integer(300, 604_800),
  }),
  EMAIL_VERIFICATION_MAILS_PER_USER: variable({
    expectation: 'an integer from 1 to 100',
    description:
      'Verification and email-change links mailed per user per `EMAIL_VERIFICATION_WINDOW_SECONDS` (the registration mail counts); beyond it 429 `RATE_LIMITED` with `Retry-After`. Counted in PostgreSQL, so shared by every instance.',
    default: '5',
    parse: integer(1, 100),
  }),
  EMAIL_VERIFICATION_WINDOW_SECONDS: variable({
    expectation: 'an integer from 60 to 604800',
    description: 'Window of `EMAIL_VERIFICATION_MAILS_PER_USER`.',
    default: '3600',
    parse: integer(60, 604_800),
  }),
  REQUIRE_VERIFIED_EMAIL: variable({
    expectation: 'true or false',
    description:
      'Refuse to sign in a user whose address is not verified: `POST /auth/login` and the sign-in page answer 403 `EMAIL_NOT_VERIFIED` (the page offers to send the link again), and the password, authorization code and device grants `access_denied`, each only after a correct password. Sessions that already exist are kept.',
    default: 'false',
    parse: boolean,
  }),
  MFA_REQUIRED_ROLES: variable({
    expectation: 'a comma-separated list of role names (letters, digits, . _ : -), or empty',
    description:
      'Users holding one of these roles must use a second factor at admin-api: without a confirmed factor every admin-api route answers 403 `MFA_ENROLMENT_REQUIRED` (enrol at auth-api `/me/mfa`); once enrolled, a session or token signed in with the password alone is answered 401 `INSUFFICIENT_USER_AUTHENTICATION` (RFC 9470) until they sign in again with their factor. Empty: no role needs one. `admin` is recommended in production.',
    default: '',
    parse: (raw) =>
      parseList(raw, (entry) => (/^[A-Za-z0-9._:-]{1,64}$/.test(entry) ? entry : undefined)),
  }),
  FIRST_PARTY_CLIENT_ID: variable({
    expectation: 'an identifier of letters, digits, dot, dash or underscore (at most 128)',
    description:
      "The public OAuth client of the platform's own mobile and CLI apps (password grant), created at start.",
    default: 'gatehouse-first-party',
    parse: (raw) => (/^[A-Za-z0-9._-]{1,128}$/.test(raw) ? raw : undefined),
  }),
  ADMIN_EMAIL: variable({
    expectation: 'an email address',
    description:
      'Bootstrap operator: created with the `admin` role at start when no user has that role. Needs `ADMIN_PASSWORD`.',
    parse: (raw) => (/^[^\s@]+@[^\s@]+$/.test(raw.trim()) ? raw.trim() : undefined),
  }),
  ADMIN_PASSWORD: variable({
    expectation: 'a password of 8 to 128 characters',
    description:
      'Password of the bootstrap operator. Unset with the embedded database: `npm start` generates one into `DATA_DIR`.',
    parse: (raw) => ([...raw].length >= 8 && [...raw].length <= 128 ? raw : undefined),
  }),
} as const;

export type EnvName = keyof typeof envSchema;

export type Env = {
  [Name in EnvName]: (typeof envSchema)[Name] extends EnvVariable<infer T> ? T : never;
};
