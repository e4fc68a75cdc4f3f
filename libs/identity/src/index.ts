export { type AuditAction, type AuditEntry, AuditService } from './audit/audit.service.js';
export {
  type ClientCredentials,
  ClientService,
  type CreatedClient,
  type GrantType,
  type NewClientRequest,
} from './clients/client.service.js';
export {
  BACKCHANNEL_LOGOUT_TASK,
  BackchannelLogoutService,
} from './backchannel-logout/backchannel-logout.service.js';
export {
  BACKCHANNEL_LOGOUT_EVENT,
  LOGOUT_TOKEN_TYPE,
  LogoutTokenIssuer,
} from './backchannel-logout/logout-token.js';
export { CLIENT_CACHE_TTL_MS, ClientCache } from './clients/client-cache.js';
export { redirectUriProblem } from './clients/client-rules.js';
export { Clock } from './clock.js';
export {
  type EmailChangeRequest,
  EmailChangeService,
} from './email-verification/email-change.service.js';
export { EmailVerificationService } from './email-verification/email-verification.service.js';
export {
  FEDERATION_STATE_TTL_SECONDS,
  type FederationNext,
  type FederationOutcome,
  FederationService,
  type LinkedIdentity,
} from './federation/federation.service.js';
export {
  type IdentityProviderView,
  IdentityProviderService,
  type OidcProviderChanges,
  type OidcProviderInput,
  type SamlProviderChanges,
  type SamlProviderInput,
  type SamlProviderView,
} from './federation/identity-provider.service.js';
export { OidcRelyingParty } from './federation/oidc-relying-party.js';
export { SamlServiceProvider } from './federation/saml-service-provider.js';
export {
  FederatedIdentityNotFoundError,
  type FederationRefusal,
  FederationRefusedError,
  FederationUnavailableError,
  IdentityProviderNotFoundError,
  IdentityProviderSlugTakenError,
  LastSignInMethodError,
} from './identity.errors.js';
export { IdentityModule } from './identity.module.js';
export {
  BootstrapOperatorConflictError,
  ClientNotFoundError,
  ClientProtectedError,
  EmailAlreadyVerifiedError,
  EmailNotVerifiedError,
  EmailTakenError,
  type FieldProblem,
  IdentityError,
  InvalidCredentialsError,
  MailNotFoundError,
  MailNotRetryableError,
  MfaCodeInvalidError,
  MfaEnrolmentRequiredError,
  MfaFactorNotFoundError,
  MfaSignInRequiredError,
  MfaTokenInvalidError,
  OwnFactorsResetError,
  PasskeyInvalidError,
  RateLimitedError,
  ReauthenticationFailedError,
  ResetTokenInvalidError,
  ServiceBusyError,
  SessionNotFoundError,
  UserDisabledError,
  UserNotFoundError,
  ValidationFailedError,
  VerificationTokenInvalidError,
  WebhookDeliveryNotFoundError,
  WebhookNotFoundError,
} from './identity.errors.js';
export { MailAdministrationService } from './mail/mail-administration.service.js';
export {
  MfaAdministrationService,
  type OperatorFactorReset,
  type UserFactors,
} from './mfa/mfa-administration.service.js';
export { MfaPolicy, type MfaPolicySubject } from './mfa/mfa-policy.js';
export { MailDelivery } from './mail/mail-delivery.js';
export {
  type OutboundFailure,
  OutboundFailedError,
  OutboundRefusedError,
} from './outbound/outbound.errors.js';
export {
  OUTBOUND_RESOLVER,
  OutboundHttp,
  type OutboundResolver,
  type OutboundResponse,
} from './outbound/outbound-http.js';
export {
  checkOutboundAddress,
  checkOutboundUrl,
  type OutboundPolicy,
  type OutboundRefusal,
  type OutboundRefusalReason,
} from './outbound/outbound-policy.js';
export { WebhookDeliveryTask } from './webhooks/webhook-delivery.task.js';
export { WEBHOOK_DELIVER_TASK, WebhookEmitter } from './webhooks/webhook-emitter.js';
export {
  isWebhookEventType,
  WEBHOOK_EVENT_TYPES,
  type WebhookEvent,
  type WebhookEventType,
} from './webhooks/webhook-events.js';
export { signWebhook } from './webhooks/webhook-signature.js';
export {
  type NewWebhookEndpointRequest,
  WEBHOOK_SECRET_OVERLAP_SECONDS,
  type WebhookEndpointUpdate,
  type WebhookEndpointWithSecret,
  WebhookService,
} from './webhooks/webhook.service.js';
export {
  type MailKinds,
  type MailRequest,
  type MailTemplateName,
  renderMail,
} from './mail/mail-templates.js';
export { MAIL_SEND_TASK, MailService } from './mail/mail.service.js';
export type { MailContext, RenderedMail } from './mail/templates/mail-template.js';
export {
  OAuthError,
  type OAuthErrorCode,
  invalidRequest,
  unsupportedGrantType,
} from './oauth/oauth.errors.js';
export { ACCOUNT_SCOPE, ADMIN_SCOPE, OPERATOR_ROLES, RESERVED_SCOPES } from './oauth/delegation.js';
export {
  assertResourceShape,
  MAX_RESOURCES,
  type MintedGrant,
  ResourceIndicators,
} from './oauth/resource-indicators.js';
export {
  PASSWORD_RESET_REQUEST_TASK,
  type PasswordReset,
  PasswordResetService,
  type SentResetLink,
} from './password-resets/password-reset.service.js';
export { LoginLimiter } from './rate-limits/login-limiter.js';
export {
  type EndedSessions,
  REVOCATION_FEED_SECONDS,
  type RevocationListener,
  RevocationService,
  type SessionEndHook,
  type SessionRevocation,
} from './revocations/revocation.service.js';
export {
  SessionAdministrationService,
  type SessionPage,
} from './sessions/session-administration.service.js';
export { type HousekeepingResult, SessionHousekeeping } from './sessions/session-housekeeping.js';
export {
  type ClientContext,
  type CookieAuthentication,
  SessionService,
  type StartedCookieSession,
} from './sessions/session.service.js';
export { deriveKey, open, seal } from './signing-keys/key-encryption.js';
export {
  type ActiveSigningKey,
  type KeyRotation,
  type SigningAlgorithm,
  SigningKeyService,
} from './signing-keys/signing-key.service.js';
export {
  type AccessTokenClaims,
  AccessTokenIssuer,
  type AccessTokenSubject,
} from './tokens/access-token.issuer.js';
export { RefreshTokenService, type TokenResponse } from './tokens/refresh-token.service.js';
export {
  MFA_OTP_GRANT_TYPE,
  type MfaOtpGrantRequest,
  type PasswordGrantRequest,
  TokenGrantsService,
} from './tokens/token-grants.service.js';
export {
  type Introspection,
  TokenIntrospectionService,
  type TokenTypeHint,
} from './tokens/token-introspection.service.js';
export {
  type AuthenticationMethod,
  type FactorSummary,
  MfaService,
  type Reauthentication,
  type SecondFactorMethod,
  type SecondFactorProof,
  type SignIn,
  type TotpEnrolment,
} from './mfa/mfa.service.js';
export {
  type PasskeySummary,
  PasskeyService,
  type RegisteredPasskey,
} from './mfa/passkey.service.js';
export { PasskeyCeremonies, type WebAuthnResponse } from './mfa/passkey-ceremonies.js';
export { RECOVERY_CODE_COUNT } from './mfa/recovery-codes.js';
export { normalizeEmail } from './users/email.js';
export {
  type PasswordAttempt,
  PasswordAuthenticator,
  type PasswordOutcome,
} from './users/password-authenticator.js';
export { PasswordHasher } from './users/password-hasher.js';
export {
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  passwordProblems,
} from './users/password-policy.js';
export { UserAdministrationService } from './users/user-administration.service.js';
export {
  ADMIN_ROLE,
  type PasswordChange,
  type Registration,
  UserService,
} from './users/user.service.js';
export {
  AUTHORIZATION_CODE_TTL_SECONDS,
  AuthorizationCodeService,
  claimsFor,
  type CodeRedemption,
} from './authorization/authorization-code.service.js';
export {
  type AuthorizationParams,
  AuthorizationPageError,
  AuthorizationRedirectError,
  type AuthorizationRequest,
  AuthorizationService,
  type AuthorizationStep,
  type SignedInUser,
} from './authorization/authorization.service.js';
export {
  type Interaction,
  InteractionSealer,
  type LogoutInteraction,
} from './authorization/interaction-sealer.js';
export {
  DEVICE_CODE_GRANT_TYPE,
  type DeviceAuthorizationResponse,
  DeviceAuthorizationService,
  type DeviceRequestForUser,
  formatUserCode,
  normalizeUserCode,
  USER_CODE_ALPHABET,
} from './authorization/device-authorization.service.js';
export {
  type BrowserSignIn,
  type EndSessionParams,
  type EndSessionRequest,
  EndSessionService,
} from './authorization/end-session.service.js';
export {
  ACR_MFA,
  ACR_PASSWORD,
  ACR_PHISHING_RESISTANT,
  ACR_VALUES_SUPPORTED,
  acrOf,
  satisfiesAcrValues,
} from './mfa/assurance.js';
