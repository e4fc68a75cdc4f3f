import { createHash } from 'node:crypto';

import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';

import { RateLimitedError } from '../identity.errors.js';

const KEY_PREFIX = 'gatehouse:login';
/**
 * RFC 8628 §5.1: user codes have about 34 bits of entropy, so wrong guesses are limited per signed-in
 * user and per IP (a correct code gives its point back). Ten per quarter-hour is plenty for typos.
 */
const USER_CODE_ATTEMPTS_PER_USER = 10;
const USER_CODE_ATTEMPTS_PER_IP = 30;
const USER_CODE_WINDOW_SECONDS = 900;
/**
 * Second-factor attempts (TOTP codes, recovery codes, the password when removing a factor) per user:
 * a six-digit code within ±1 step is a 3-in-a-million guess, so five per quarter-hour keeps an
 * attacker who has the password far from the code.
 */
const MFA_ATTEMPTS_PER_USER = 5;
/**
 * Device authorization requests per IP and client in the same window: each one holds a user code for
 * ten minutes, so an unbounded stream from one address would fill the table (and the code space).
 */
const DEVICE_REQUESTS_PER_IP = 60;
/**
 * Passwordless passkey sign-ins started per IP in the same window: each one stores a challenge for
 * five minutes, and nobody is named yet, so the address is the only key there is.
 */
const PASSKEY_CEREMONIES_PER_IP = 60;

/** Emails become a hash in the counter key: the store never holds who was attacked in clear. */
function accountKey(email: string): string {
  return createHash('sha256').update(email).digest('base64url');
}

/**
 * Brute-force defence for every password check (OWASP Authentication Cheat Sheet): attempts per account
 * and failed attempts per client IP, both over a sliding window. A point is taken *before* the password
 * is verified, so concurrent guesses cannot slip past the limit; success gives it back.
 *
 * With `REDIS_URL` the counters live in Redis and every instance shares them; if Redis becomes
 * unreachable each instance falls back to its own memory counters rather than failing logins.
 */
@Injectable()
export class LoginLimiter implements OnModuleDestroy {
  private readonly logger = new Logger(LoginLimiter.name);
  private readonly redis: Redis | undefined;
  private readonly perAccount: RateLimiterAbstract;
  private readonly perIp: RateLimiterAbstract;
  private readonly userCodesPerUser: RateLimiterAbstract;
  private readonly userCodesPerIp: RateLimiterAbstract;
  private readonly deviceRequestsPerIp: RateLimiterAbstract;
  private readonly mfaPerUser: RateLimiterAbstract;
  private readonly passkeyCeremoniesPerIp: RateLimiterAbstract;
  private readonly registrationsPerIp: RateLimiterAbstract;
  private readonly resetRequestsPerAddress: RateLimiterAbstract;
  private readonly resetRequestsPerIp: RateLimiterAbstract;
  private lastStoreWarning = 0;

  constructor(@InjectConfig() config: GatehouseConfig) {
    const { attemptsPerAccount, attemptsPerIp, windowSeconds } = config.loginLimits;
    this.redis = config.redisUrl ? this.connect(config.redisUrl) : undefined;
    this.perAccount = this.limiter('account', attemptsPerAccount, windowSeconds);
    this.perIp = this.limiter('ip', attemptsPerIp, windowSeconds);
    this.userCodesPerUser = this.limiter(
      'user-code:user',
      USER_CODE_ATTEMPTS_PER_USER,
      USER_CODE_WINDOW_SECONDS,
    );
    this.userCodesPerIp = this.limiter(
      'user-code:ip',
      USER_CODE_ATTEMPTS_PER_IP,
      USER_CODE_WINDOW_SECONDS,
    );
    this.deviceRequestsPerIp = this.limiter(
      'device-request:ip',
      DEVICE_REQUESTS_PER_IP,
      USER_CODE_WINDOW_SECONDS,
    );
    this.mfaPerUser = this.limiter('mfa:user', MFA_ATTEMPTS_PER_USER, USER_CODE_WINDOW_SECONDS);
    this.passkeyCeremoniesPerIp = this.limiter(
      'passkey-ceremony:ip',
      PASSKEY_CEREMONIES_PER_IP,
      USER_CODE_WINDOW_SECONDS,
    );
    this.registrationsPerIp = this.limiter(
      'registration:ip',
      config.registrationLimits.attemptsPerIp,
      config.registrationLimits.windowSeconds,
    );
    const { requestsPerAddress, requestsPerIp, windowSeconds: resetWindow } = config.passwordReset;
    this.resetRequestsPerAddress = this.limiter(
      'password-reset:address',
      requestsPerAddress,
      resetWindow,
    );
    this.resetRequestsPerIp = this.limiter('password-reset:ip', requestsPerIp, resetWindow);
  }

  /**
   * One password reset request (OWASP Forgot Password Cheat Sheet: limit the mails one can trigger).
   * Addresses with and without an account count alike, so a 429 reveals nothing either.
   */
  async takePasswordResetRequest(email: string, ip: string | null): Promise<void> {
    await this.consume(this.resetRequestsPerIp, ip ?? 'unknown');
    await this.consume(this.resetRequestsPerAddress, accountKey(email));
  }

  /**
   * One registration attempt from the IP, whatever its outcome (auth-api takes it before validating
   * the body): sign-ups cost an argon2 hash and a row each, so the budget counts attempts, not
   * failures (OWASP Automated Threats: account creation, OAT-019).
   */
  takeRegistration(ip: string | null): Promise<void> {
    return this.consume(this.registrationsPerIp, ip ?? 'unknown');
  }

  /** One device authorization request (RFC 8628 §3.1) of a client, or 429 past the IP's budget. */
  takeDeviceRequest(clientId: string, ip: string | null): Promise<void> {
    return this.consume(this.deviceRequestsPerIp, `${ip ?? 'unknown'}:${clientId}`);
  }

  /** One device user-code lookup by a signed-in user, or 429 once the guesses are spent. */
  async takeUserCode(userId: string, ip: string | null): Promise<void> {
    // The user's own budget first: a user already refused does not spend the budget of everyone
    // behind the same address.
    await this.consume(this.userCodesPerUser, userId);
    await this.consume(this.userCodesPerIp, ip ?? 'unknown');
  }

  /** The code was a real one: the lookup does not count as a guess. */
  async userCodeFound(userId: string, ip: string | null): Promise<void> {
    await Promise.all([
      this.userCodesPerUser.reward(userId, 1),
      this.userCodesPerIp.reward(ip ?? 'unknown', 1),
    ]);
  }

  /** One passwordless passkey sign-in started (a stored challenge), or 429 past the IP's budget. */
  takePasskeyCeremony(ip: string | null): Promise<void> {
    return this.consume(this.passkeyCeremoniesPerIp, ip ?? 'unknown');
  }

  /** One second-factor attempt of a user, or 429 once the budget is spent. */
  takeMfaAttempt(userId: string): Promise<void> {
    return this.consume(this.mfaPerUser, userId);
  }

  /** A right code: the user's budget starts afresh. */
  async mfaSucceeded(userId: string): Promise<void> {
    await this.mfaPerUser.delete(userId);
  }

  /** Takes one attempt for the IP and the account, or throws 429 with the time until the next one. */
  async take(email: string, ip: string | null): Promise<void> {
    await this.consume(this.perIp, ip ?? 'unknown');
    await this.consume(this.perAccount, accountKey(email));
  }

  /** A correct password: the account starts afresh, and the attempt no longer counts for the IP. */
  async succeeded(email: string, ip: string | null): Promise<void> {
    await Promise.all([
      this.perAccount.delete(accountKey(email)),
      this.perIp.reward(ip ?? 'unknown', 1),
    ]);
  }

  /** The password was never checked (the hash queue was full): the attempt gives its points back. */
  async notAttempted(email: string, ip: string | null): Promise<void> {
    await Promise.all([
      this.perAccount.reward(accountKey(email), 1),
      this.perIp.reward(ip ?? 'unknown', 1),
    ]);
  }

  /**
   * For attempts that probe accounts without a password (registration: "email taken"): only the IP
   * budget applies, and `ipSucceeded` gives the point back when the attempt probed nothing.
   */
  takeForIp(ip: string | null): Promise<void> {
    return this.consume(this.perIp, ip ?? 'unknown');
  }

  async ipSucceeded(ip: string | null): Promise<void> {
    await this.perIp.reward(ip ?? 'unknown', 1);
  }

  onModuleDestroy(): void {
    this.redis?.disconnect();
  }

  private async consume(limiter: RateLimiterAbstract, key: string): Promise<void> {
    try {
      await limiter.consume(key, 1);
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        throw new RateLimitedError(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
      }
      throw rejection;
    }
  }

  private limiter(scope: string, points: number, duration: number): RateLimiterAbstract {
    const options = { keyPrefix: `${KEY_PREFIX}:${scope}`, points, duration };
    const memory = new RateLimiterMemory(options);
    return this.redis
      ? new RateLimiterRedis({ ...options, storeClient: this.redis, insuranceLimiter: memory })
      : memory;
  }

  private connect(url: string): Redis {
    // No offline queue: while Redis is down a command fails at once and the memory limiter answers.
    const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    redis.on('error', (error: Error) => {
      if (Date.now() - this.lastStoreWarning > 60_000) {
        this.lastStoreWarning = Date.now();
        this.logger.warn(`Redis unavailable, login limits use memory counters: ${error.message}`);
      }
    });
    return redis;
  }
}
