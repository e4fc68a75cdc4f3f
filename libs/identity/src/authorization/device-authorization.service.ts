import { createHash, randomBytes, randomInt } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import { type Client, Database } from '@gatehouse/persistence';

import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../clock.js';
import { grantedScope } from '../oauth/granted-scope.js';
import { invalidGrant, OAuthError, unauthorizedClient } from '../oauth/oauth.errors.js';
import { LoginLimiter } from '../rate-limits/login-limiter.js';
import type { ClientContext } from '../sessions/session.service.js';
import { RefreshTokenService, type TokenResponse } from '../tokens/refresh-token.service.js';
import type { SignedInUser } from './authorization.service.js';
import { claimsFor, emailNotVerified } from './authorization-code.service.js';

/** RFC 8628 §3.4: the grant type of the token request that polls. */
export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';

/**
 * RFC 8628 §6.1: 20 consonants, no vowels (no words), none that look alike (no I/1, O/0, U/V pairs
 * left to confuse). 8 of them are 20^8 ≈ 2^34.6 codes, shown as XXXX-XXXX.
 */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
const USER_CODE_LENGTH = 8;
const DEVICE_CODE_SHAPE = /^[A-Za-z0-9_-]{43}$/;
const INSERT_ATTEMPTS = 5;

const sha256 = (value: string) => createHash('sha256').update(value).digest();

/**
 * The user code as typed, made canonical: case, spaces and dashes do not matter. Null when it cannot
 * be a user code at all (no lookup, no guess counted).
 */
export function normalizeUserCode(input: unknown): string | null {
  if (typeof input !== 'string' || input.length > 32) {
    return null;
  }
  const letters = input.toUpperCase().replace(/[\s-]/g, '');
  return letters.length === USER_CODE_LENGTH &&
    [...letters].every((letter) => USER_CODE_ALPHABET.includes(letter))
    ? letters
    : null;
}

/** `BCDFGHJK` → `BCDF-GHJK`. */
export function formatUserCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

function generateUserCode(): string {
  let code = '';
  for (let i = 0; i < USER_CODE_LENGTH; i += 1) {
    code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  }
  return code;
}

/** RFC 8628 §3.2 device authorization response. */
export interface DeviceAuthorizationResponse {
  readonly device_code: string;
  readonly user_code: string;
  readonly verification_uri: string;
  readonly verification_uri_complete: string;
  readonly expires_in: number;
  readonly interval: number;
}

/** A pending request as the device page shows it, to be approved or denied. */
export interface DeviceRequestForUser {
  readonly id: string;
  readonly userCode: string;
  readonly client: { readonly id: string; readonly name: string };
  readonly scopes: readonly string[];
}

/**
 * The device authorization grant (RFC 8628), for CLIs and TVs: the device gets a device code to poll
 * with and a short user code; the user enters the code on the device page, signed in, and approves or
 * denies. Both codes are stored as SHA-256. The device's first poll after approval creates a token
 * session for the client, as the code grant does.
 */
@Injectable()
export class DeviceAuthorizationService {
  private readonly verificationUri: string;
  private readonly ttlSeconds: number;
  private readonly intervalSeconds: number;
  private readonly requireVerifiedEmail: boolean;

  constructor(
    @InjectConfig() config: GatehouseConfig,
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly refreshTokens: RefreshTokenService,
    private readonly limiter: LoginLimiter,
    private readonly audit: AuditService,
  ) {
    this.verificationUri = `${config.issuer}/device`;
    this.ttlSeconds = config.tokens.deviceCodeTtlSeconds;
    this.intervalSeconds = config.tokens.deviceCodeIntervalSeconds;
    this.requireVerifiedEmail = config.emailVerification.required;
  }

  /** `POST /oauth/device_authorization` (RFC 8628 §3.1). */
  async start(
    client: Client,
    requestedScope: string | undefined,
    ip: string | null,
  ): Promise<DeviceAuthorizationResponse> {
    if (!client.grantTypes.includes(DEVICE_CODE_GRANT_TYPE)) {
      throw unauthorizedClient('The client may not use the device authorization grant.');
    }
    const scope = grantedScope(client, requestedScope);
    await this.limiter.takeDeviceRequest(client.id, ip);
    const now = this.clock.now();
    const deviceCode = randomBytes(32).toString('base64url');
    for (let attempt = 0; attempt < INSERT_ATTEMPTS; attempt += 1) {
      const userCode = generateUserCode();
      const id = await this.database.deviceAuthorizations.insert({
        deviceCodeHash: sha256(deviceCode),
        userCodeHash: sha256(userCode),
        clientId: client.id,
        scope,
        intervalSeconds: this.intervalSeconds,
        createdAt: now,
        expiresAt: new Date(now.getTime() + this.ttlSeconds * 1000),
      });
      if (id !== null) {
        const shown = formatUserCode(userCode);
        return {
          device_code: deviceCode,
          user_code: shown,
          verification_uri: this.verificationUri,
          verification_uri_complete: `${this.verificationUri}?user_code=${shown}`,
          expires_in: this.ttlSeconds,
          interval: this.intervalSeconds,
        };
      }
    }
    // Five collisions in 2^34 codes means the table is full of live requests: an attack, not luck.
    throw new OAuthError('invalid_request', 'Try again later.', 503);
  }

  /**
   * The pending request a signed-in user typed the code of, or null (unknown, expired, decided).
   * Every lookup of an unknown code counts against the user's and the IP's guesses (429 past them).
   */
  async find(
    typed: unknown,
    user: SignedInUser,
    ip: string | null,
  ): Promise<DeviceRequestForUser | null> {
    const userCode = normalizeUserCode(typed);
    if (userCode === null) {
      return null;
    }
    await this.limiter.takeUserCode(user.userId, ip);
    const found = await this.database.deviceAuthorizations.findByUserCodeHash(sha256(userCode));
    if (!found || found.status !== 'pending' || this.clock.now() >= found.expiresAt) {
      return null;
    }
    await this.limiter.userCodeFound(user.userId, ip);
    return {
      id: found.id,
      userCode: formatUserCode(userCode),
      client: { id: found.clientId, name: found.clientName },
      scopes: found.scope.split(' ').filter(Boolean),
    };
  }

  /** Approve or deny on the device page; false if the request was no longer pending. */
  decide(
    request: DeviceRequestForUser,
    user: SignedInUser,
    approve: boolean,
    context: ClientContext,
  ): Promise<boolean> {
    return this.database.transaction(async (repositories) => {
      const decided = await repositories.deviceAuthorizations.decide(
        request.id,
        approve ? 'approved' : 'denied',
        user,
        this.clock.now(),
      );
      if (decided) {
        await this.audit.record(repositories, {
          actor: `user:${user.userId}`,
          action: approve ? 'oauth.device_approved' : 'oauth.device_denied',
          subject: `client:${request.client.id}`,
          ip: context.ip,
          details: { deviceAuthorizationId: request.id, scopes: request.scopes },
        });
      }
      return decided;
    });
  }

  /** `POST /oauth/token` with the device code grant (RFC 8628 §3.4, §3.5). */
  async poll(client: Client, deviceCode: string, context: ClientContext): Promise<TokenResponse> {
    if (!client.grantTypes.includes(DEVICE_CODE_GRANT_TYPE)) {
      throw unauthorizedClient('The client may not use the device code grant.');
    }
    const polled = DEVICE_CODE_SHAPE.test(deviceCode)
      ? await this.database.deviceAuthorizations.poll(
          sha256(deviceCode),
          client.id,
          this.clock.now(),
        )
      : null;
    // A device code of another client is answered like an unknown one.
    if (!polled || polled.clientId !== client.id) {
      throw invalidGrant('The device code is invalid.');
    }
    if (this.clock.now() >= polled.expiresAt) {
      throw new OAuthError('expired_token', 'The device code has expired. Start again.');
    }
    switch (polled.status) {
      case 'pending':
        throw polled.slowDown
          ? new OAuthError(
              'slow_down',
              `Polling too fast: wait ${polled.intervalSeconds} seconds between requests.`,
            )
          : new OAuthError('authorization_pending', 'The user has not answered yet.');
      case 'denied':
        throw new OAuthError('access_denied', 'The user denied the request.');
      case 'redeemed':
        throw invalidGrant('The device code has already been used.');
      case 'approved':
        break;
    }
    if (polled.browserSessionEndedAt) {
      throw invalidGrant('The sign-in that approved the device has ended.');
    }
    if (polled.userDisabledAt || !polled.userId || !polled.authTime) {
      throw invalidGrant('The account is disabled.');
    }
    if (this.requireVerifiedEmail && !polled.userEmailVerifiedAt) {
      throw emailNotVerified();
    }
    const started = await this.refreshTokens.startSessionOnce(
      { id: polled.userId, roles: polled.userRoles ?? [] },
      client,
      polled.scope,
      context,
      (repositories, sessionId) =>
        repositories.deviceAuthorizations.markRedeemed(polled.id, sessionId),
      {
        nonce: null,
        authTime: polled.authTime,
        ...(polled.amr ? { amr: polled.amr } : {}),
        parentSessionId: polled.browserSessionId,
        claims: claimsFor(polled.scope, {
          email: polled.userEmail ?? '',
          emailVerifiedAt: polled.userEmailVerifiedAt,
        }),
      },
    );
    if (!started) {
      throw invalidGrant('The device code has already been used.');
    }
    return started;
  }
}
