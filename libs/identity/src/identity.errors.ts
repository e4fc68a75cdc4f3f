/**
 * Domain errors: one class per stable code, with the HTTP status it maps to and a message safe to show
 * to the caller. The apps' error filters render them; identity itself never sees HTTP.
 */
export abstract class IdentityError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;

  /** Response headers the error implies (e.g. `Retry-After`). */
  get headers(): Readonly<Record<string, string>> {
    return {};
  }
}

export interface FieldProblem {
  readonly field: string;
  readonly messages: readonly string[];
}

export class ValidationFailedError extends IdentityError {
  readonly status = 400;
  readonly code = 'VALIDATION_FAILED';

  constructor(
    readonly details: readonly FieldProblem[],
    message = 'The request is invalid.',
  ) {
    super(message);
  }
}

export class EmailTakenError extends IdentityError {
  readonly status = 409;
  readonly code = 'EMAIL_TAKEN';

  constructor() {
    super('An account with this email already exists.');
  }
}

/** One answer for an unknown email, a wrong password and a disabled account: no enumeration. */
export class InvalidCredentialsError extends IdentityError {
  readonly status = 401;
  readonly code = 'INVALID_CREDENTIALS';

  constructor() {
    super('The email or password is incorrect.');
  }
}

/** A refusal the client may retry: it carries `Retry-After` (RFC 9110 §10.2.3). */
abstract class RetryLaterError extends IdentityError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }

  override get headers(): Readonly<Record<string, string>> {
    return { 'retry-after': String(this.retryAfterSeconds) };
  }
}

export class RateLimitedError extends RetryLaterError {
  readonly status = 429;
  readonly code = 'RATE_LIMITED';

  constructor(retryAfterSeconds: number) {
    super('Too many attempts. Retry later.', retryAfterSeconds);
  }
}

/**
 * Too much password hashing waiting already: refused at once rather than queued behind work that
 * would outlast the client's patience (the queue is bounded, see `PasswordHasher`).
 */
export class ServiceBusyError extends RetryLaterError {
  readonly status = 503;
  readonly code = 'SERVICE_BUSY';

  constructor(retryAfterSeconds: number) {
    super('The service is busy. Retry shortly.', retryAfterSeconds);
  }
}

/** Also the answer for another user's session: existence is never revealed (never 403). */
/** A TOTP or recovery code that is wrong, already used, or outside its time window. */
export class MfaCodeInvalidError extends IdentityError {
  readonly code = 'MFA_CODE_INVALID';

  constructor(readonly status: 400 | 401 = 401) {
    super('The code is incorrect or was already used.');
  }
}

/** The second step of a sign-in is unknown, expired (5 minutes) or already completed. */
export class MfaTokenInvalidError extends IdentityError {
  readonly status = 401;
  readonly code = 'MFA_TOKEN_INVALID';

  constructor() {
    super('This sign-in has expired or was completed. Sign in again.');
  }
}

/**
 * A passkey ceremony that does not verify: unknown credential, tampered or replayed response, another
 * origin, a counter gone backwards, an expired challenge or a disabled account, all alike (no hint of
 * whether a credential exists). 400 when adding a passkey, 401 when signing in with one.
 */
export class PasskeyInvalidError extends IdentityError {
  readonly code = 'PASSKEY_INVALID';

  constructor(readonly status: 400 | 401 = 401) {
    super('The passkey could not be verified.');
  }
}

/** Another user's factor answers exactly like an unknown one. */
export class MfaFactorNotFoundError extends IdentityError {
  readonly status = 404;
  readonly code = 'MFA_FACTOR_NOT_FOUND';

  constructor() {
    super('No such factor.');
  }
}

/** Removing a factor or regenerating recovery codes needs the password (or a current code). */
export class ReauthenticationFailedError extends IdentityError {
  readonly status = 403;
  readonly code = 'REAUTHENTICATION_FAILED';

  constructor() {
    super('The password or code is incorrect.');
  }
}

/**
 * `MFA_REQUIRED_ROLES`: a user holding such a role has no second factor yet, so admin-api serves them
 * nothing until they enrol one at auth-api.
 */
export class MfaEnrolmentRequiredError extends IdentityError {
  readonly status = 403;
  readonly code = 'MFA_ENROLMENT_REQUIRED';

  constructor() {
    super(
      'Your role requires a second factor. Enrol one at auth-api /me/mfa (an authenticator app), then sign in again with it.',
    );
  }
}

/**
 * `MFA_REQUIRED_ROLES`: the user has a second factor, but this session or token was signed in without
 * it (a password alone, or before the factor was enrolled). RFC 9470: 401 with an
 * `insufficient_user_authentication` challenge naming the class that would do; signing in again asks
 * for the factor.
 */
export class MfaSignInRequiredError extends IdentityError {
  readonly status = 401;
  readonly code = 'INSUFFICIENT_USER_AUTHENTICATION';

  constructor(private readonly acrValues: string) {
    super('Your role requires a sign-in with your second factor. Sign in again, then retry.');
  }

  override get headers(): Readonly<Record<string, string>> {
    return {
      'WWW-Authenticate': `Bearer realm="gatehouse", error="insufficient_user_authentication", error_description="A sign-in with a second factor is required", acr_values="${this.acrValues}"`,
    };
  }
}

/** An operator's own factors are theirs to manage at auth-api `/me/mfa` (with their password). */
export class OwnFactorsResetError extends IdentityError {
  readonly status = 403;
  readonly code = 'MFA_RESET_OWN_FACTORS';

  constructor() {
    super(
      'Operators cannot reset their own factors here: manage them at auth-api /me/mfa, or ask another operator.',
    );
  }
}

export class SessionNotFoundError extends IdentityError {
  readonly status = 404;
  readonly code = 'SESSION_NOT_FOUND';

  constructor() {
    super('No such session.');
  }
}

export class UserNotFoundError extends IdentityError {
  readonly status = 404;
  readonly code = 'USER_NOT_FOUND';

  constructor() {
    super('No such user.');
  }
}

/**
 * A password reset token that opens nothing: unknown, used, superseded by a newer request, voided by
 * a password change, expired, or its account disabled. One answer for all of them.
 */
export class ResetTokenInvalidError extends IdentityError {
  readonly status = 400;
  readonly code = 'RESET_TOKEN_INVALID';

  constructor() {
    super('This password reset link is invalid or has expired. Ask for a new one.');
  }
}

/**
 * A verification or email-change link that proves nothing: unknown, used, superseded by a newer one,
 * cancelled, expired, or for an address the account no longer has. One answer for all of them.
 */
export class VerificationTokenInvalidError extends IdentityError {
  readonly status = 400;
  readonly code = 'VERIFICATION_TOKEN_INVALID';

  constructor() {
    super('This link is invalid or has expired. Ask for a new one.');
  }
}

/** Raised only after a correct password (`REQUIRE_VERIFIED_EMAIL`): no enumeration. */
export class EmailNotVerifiedError extends IdentityError {
  readonly status = 403;
  readonly code = 'EMAIL_NOT_VERIFIED';

  /** For the sign-in page's "send the link again"; never rendered. */
  constructor(readonly userId: string) {
    super('Confirm your email address first: open the link we mailed you.');
  }
}

export class EmailAlreadyVerifiedError extends IdentityError {
  readonly status = 409;
  readonly code = 'EMAIL_ALREADY_VERIFIED';

  constructor() {
    super('The email address is already verified.');
  }
}

export class UserDisabledError extends IdentityError {
  readonly status = 409;
  readonly code = 'USER_DISABLED';

  constructor() {
    super('The account is disabled. Enable it first.');
  }
}

export class ClientNotFoundError extends IdentityError {
  readonly status = 404;
  readonly code = 'CLIENT_NOT_FOUND';

  constructor() {
    super('No such client.');
  }
}

export class MailNotFoundError extends IdentityError {
  readonly status = 404;
  readonly code = 'MAIL_NOT_FOUND';

  constructor() {
    super('No such mail.');
  }
}

export class WebhookNotFoundError extends IdentityError {
  readonly status = 404;
  readonly code = 'WEBHOOK_NOT_FOUND';

  constructor() {
    super('No such webhook endpoint.');
  }
}

export class WebhookDeliveryNotFoundError extends IdentityError {
  readonly status = 404;
  readonly code = 'WEBHOOK_DELIVERY_NOT_FOUND';

  constructor() {
    super('No such delivery of this webhook endpoint.');
  }
}

/** Only a mail that failed or is dead can be queued again: a sent one is never sent twice this way. */
export class MailNotRetryableError extends IdentityError {
  readonly status = 409;
  readonly code = 'MAIL_NOT_RETRYABLE';

  constructor() {
    super('Only a failed or dead mail can be retried.');
  }
}

/**
 * The platform's own first-party client is configuration: an operator may edit it, but not remove it
 * or make it third-party.
 */
export class ClientProtectedError extends IdentityError {
  readonly status = 409;
  readonly code = 'CLIENT_PROTECTED';

  constructor(message = 'The first-party client cannot be changed this way.') {
    super(message);
  }
}

/** Start-up refusal, never an HTTP answer: see `UserService.ensureBootstrapOperator`. */
export class BootstrapOperatorConflictError extends Error {
  constructor() {
    super(
      'ADMIN_EMAIL belongs to an existing account whose password is not ADMIN_PASSWORD; refusing to make it an admin.',
    );
  }
}

export class IdentityProviderNotFoundError extends IdentityError {
  readonly status = 404;
  readonly code = 'IDENTITY_PROVIDER_NOT_FOUND';

  constructor() {
    super('No such identity provider.');
  }
}

export class IdentityProviderSlugTakenError extends IdentityError {
  readonly status = 409;
  readonly code = 'IDENTITY_PROVIDER_SLUG_TAKEN';

  constructor() {
    super('Another identity provider has this slug.');
  }
}

export class FederatedIdentityNotFoundError extends IdentityError {
  readonly status = 404;
  readonly code = 'FEDERATED_IDENTITY_NOT_FOUND';

  constructor() {
    super('No such linked identity.');
  }
}

/** Unlinking would leave the account without a password and without another linked identity. */
export class LastSignInMethodError extends IdentityError {
  readonly status = 409;
  readonly code = 'LAST_SIGN_IN_METHOD';

  constructor() {
    super('This is your only way to sign in. Set a password or link another provider first.');
  }
}

/** Why a federated sign-in was refused: in the audit log only, never shown to the browser. */
export type FederationRefusal =
  | 'provider_unknown'
  | 'state_invalid'
  | 'upstream_error'
  | 'token_invalid'
  | 'subject_missing'
  | 'email_missing'
  | 'email_domain_not_allowed'
  | 'account_exists_not_linkable'
  | 'provisioning_disabled'
  | 'user_disabled'
  | 'link_session_invalid'
  | 'identity_linked_to_another_user'
  /** SAML: the response failed a check (signature, audience, recipient, time, InResponseTo…). */
  | 'assertion_invalid'
  /** SAML: this assertion ID was already accepted from this provider. */
  | 'assertion_replayed'
  /** REQUIRE_VERIFIED_EMAIL: the user's address is not verified (no session until it is). */
  | 'email_not_verified';

/**
 * A federated sign-in that ends without a session. The reason goes to the audit log; the browser sees
 * one message whatever it was (no upstream detail, no hint whether an account exists).
 */
export class FederationRefusedError extends IdentityError {
  readonly status = 403;
  readonly code = 'FEDERATION_REFUSED';

  constructor(readonly reason: FederationRefusal) {
    super('The sign-in with this provider did not succeed. Try again or sign in another way.');
  }
}

/** The upstream provider could not be reached or discovered. */
export class FederationUnavailableError extends IdentityError {
  readonly status = 502;
  readonly code = 'FEDERATION_UNAVAILABLE';

  constructor() {
    super('The identity provider is not available right now. Try again later.');
  }
}
