/** RFC 6749 §5.2 error codes (and RFC 7009 §2.2.1's), verbatim on the wire. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'unsupported_token_type'
  // RFC 8628 §3.5, the device code grant's polling answers.
  | 'authorization_pending'
  | 'slow_down'
  | 'access_denied'
  | 'expired_token'
  // RFC 8707 §2: a `resource` this grant cannot reach.
  | 'invalid_target'
  // The password was right and a second factor is needed (Gatehouse, like Auth0's `mfa_required`).
  | 'mfa_required';

/**
 * An OAuth endpoint's refusal: `description` is safe to show the client (`error_description`);
 * anything private goes to the log, never into it.
 */
export class OAuthError extends Error {
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    readonly status = 400,
    /** Further members of the error body (e.g. `mfa_token`). */
    readonly extra: Readonly<Record<string, string>> = {},
  ) {
    super(description);
  }
}

export const invalidRequest = (description: string) =>
  new OAuthError('invalid_request', description);

/** RFC 6749 §5.2: 401 when the client tried to authenticate and failed. */
export const invalidClient = (description = 'Client authentication failed.') =>
  new OAuthError('invalid_client', description, 401);

export const invalidGrant = (description: string) => new OAuthError('invalid_grant', description);

export const unauthorizedClient = (description: string) =>
  new OAuthError('unauthorized_client', description);

export const unsupportedGrantType = (grantType: string) =>
  new OAuthError('unsupported_grant_type', `The grant type "${grantType}" is not supported.`);

export const invalidScope = (description: string) => new OAuthError('invalid_scope', description);

export const invalidTarget = (description: string) => new OAuthError('invalid_target', description);

/** The password grant of a user with a second factor: redeem `mfa_token` with the mfa-otp grant. */
export const mfaRequired = (mfaToken: string) =>
  new OAuthError(
    'mfa_required',
    'A second factor is required: send mfa_token with otp or recovery_code (grant_type urn:gatehouse:params:oauth:grant-type:mfa-otp).',
    400,
    { mfa_token: mfaToken },
  );
