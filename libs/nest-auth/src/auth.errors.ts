import { HttpException } from '@nestjs/common';

import type { OriginRejection } from './csrf/origin-check.js';

/**
 * The errors of authentication and authorization: one class per stable code. They extend Nest's
 * `HttpException`, so a sibling app renders `{statusCode, error, message}` even without Gatehouse's
 * error filter.
 */
export abstract class GatehouseAuthError extends HttpException {
  protected constructor(
    status: number,
    readonly code: string,
    message: string,
  ) {
    super({ statusCode: status, error: code, message }, status);
  }
}

/** 401: the route needs a caller and the request carries no credential. */
export class MissingCredentialsError extends GatehouseAuthError {
  constructor() {
    super(401, 'MISSING_CREDENTIALS', 'Authentication is required.');
  }
}

/** 401: the bearer token is malformed, forged, expired or not accepted here. */
export class InvalidTokenError extends GatehouseAuthError {
  constructor(message = 'The access token is not valid.') {
    super(401, 'INVALID_TOKEN', message);
  }
}

/** 401: the access token has expired (beyond the clock tolerance). */
export class TokenExpiredError extends GatehouseAuthError {
  constructor() {
    super(401, 'TOKEN_EXPIRED', 'The access token has expired.');
  }
}

/** 401: the session cookie matches no session (forged, malformed, or long deleted). */
export class InvalidSessionError extends GatehouseAuthError {
  constructor() {
    super(401, 'INVALID_SESSION', 'The session is not valid. Sign in again.');
  }
}

/** 401: the session passed its idle timeout or its absolute lifetime. */
export class SessionExpiredError extends GatehouseAuthError {
  constructor() {
    super(401, 'SESSION_EXPIRED', 'The session has expired. Sign in again.');
  }
}

/** 401: the session was ended: logout, revocation, password change, or a disabled account. */
export class SessionRevokedError extends GatehouseAuthError {
  constructor() {
    super(401, 'SESSION_REVOKED', 'The session has been ended. Sign in again.');
  }
}

const CSRF_MESSAGES: Readonly<Record<OriginRejection, string>> = {
  'missing-origin':
    'Cross-site request refused: the request has no Origin or Referer header. Send the Origin of a trusted site.',
  'untrusted-origin': 'Cross-site request refused: the request origin is not trusted.',
};

/**
 * 403: a cookie-authenticated write (or a login) that names no origin, or an origin that is not
 * trusted; the message says which.
 */
export class CsrfRejectedError extends GatehouseAuthError {
  /** @param reason why the origin check failed (default: the origin is not trusted). */
  constructor(readonly reason: OriginRejection = 'untrusted-origin') {
    super(403, 'CSRF_REJECTED', CSRF_MESSAGES[reason]);
  }
}

/** 403: the caller is authenticated but may not do this (the message names what is missing). */
export class ForbiddenError extends GatehouseAuthError {
  constructor(message = 'You may not do this.') {
    super(403, 'FORBIDDEN', message);
  }
}

/**
 * 503: the guard cannot tell whether the token's session was revoked. Its revocation list overflowed
 * (more live revocations than `revocationListCapacity`), the session is not among those it kept, and
 * no platform check is configured (`revocationFallback`, or the verifier's `isSessionRevoked` /
 * `introspection`). Not a 401: nothing says the token is bad, and a 401 would make clients discard
 * valid sessions; accepting it could let a revoked one through. `Retry-After` says when the list is
 * complete again.
 */
export class RevocationCheckUnavailableError extends GatehouseAuthError {
  constructor() {
    super(
      503,
      'REVOCATION_CHECK_UNAVAILABLE',
      'Revocations cannot be checked right now. Retry later.',
    );
  }
}

/**
 * 503: credentials cannot be verified yet, because what verifies them is out of reach — the issuer's
 * discovery document has not been fetched (see `IssuerDiscovery`), or its keys or introspection
 * endpoint do not answer. Not a 401: nothing says the credential is bad. The guard sends
 * `Retry-After` with `retryAfterSeconds`.
 */
export class VerificationUnavailableError extends GatehouseAuthError {
  /** @param retryAfterSeconds when the client may try again (the next attempt to reach the issuer). */
  constructor(readonly retryAfterSeconds = 5) {
    super(
      503,
      'VERIFICATION_UNAVAILABLE',
      'Credentials cannot be verified right now: the issuer is not reachable yet. Retry later.',
    );
  }
}

/**
 * 401 (RFC 9470): the caller is who it says, but its sign-in is too old for the route
 * (`@RequireFreshAuth`) or too weak (`@RequireMfa`). The guard answers `WWW-Authenticate: Bearer
 * error="insufficient_user_authentication"` with `max_age` or `acr_values`: the client sends the user
 * through `/oauth/authorize` with them (a browser user signs in again), then retries with the new
 * token.
 */
export class InsufficientUserAuthenticationError extends GatehouseAuthError {
  /**
   * @param maxAgeSeconds the route's `@RequireFreshAuth(seconds)`, when the sign-in is too old.
   * @param acrValues the classes that would do, when the sign-in is too weak.
   */
  constructor(
    message: string,
    readonly maxAgeSeconds: number | null,
    readonly acrValues: readonly string[],
  ) {
    super(401, 'INSUFFICIENT_USER_AUTHENTICATION', message);
  }
}
