/**
 * @gatehouse/nest-auth — what any Nest app imports to authenticate Gatehouse callers.
 * It depends on no other Gatehouse library, so sibling apps can use it without auth tables.
 */
export {
  CsrfRejectedError,
  ForbiddenError,
  GatehouseAuthError,
  InsufficientUserAuthenticationError,
  InvalidSessionError,
  InvalidTokenError,
  MissingCredentialsError,
  RevocationCheckUnavailableError,
  SessionExpiredError,
  SessionRevokedError,
  TokenExpiredError,
  VerificationUnavailableError,
} from './auth.errors.js';
export {
  ADMIN_ROLE,
  type CapabilityMap,
  capabilitiesOf,
  DEFAULT_CAPABILITIES,
  mergeCapabilities,
} from './capabilities.js';
export {
  isTrustedOrigin,
  type OriginRejection,
  originRejection,
  requestOrigin,
  SAFE_METHODS,
} from './csrf/origin-check.js';
export { Caller, type CallerInit, type CallerKind, type CredentialKind } from './current-user.js';
export { CALLER_KEY, CurrentUser, currentUserOf } from './decorators/current-user.decorator.js';
export {
  IssuerDiscovery,
  type IssuerDiscoveryOptions,
  type IssuerMetadata,
} from './discovery/issuer-discovery.js';
export { IS_PUBLIC_KEY, Public } from './decorators/public.decorator.js';
export {
  REQUIRED_CAPABILITIES_KEY,
  REQUIRED_SCOPES_KEY,
  RequireCapabilities,
  RequireScopes,
} from './decorators/require-capabilities.decorator.js';
export {
  MFA_ACR_VALUES,
  REQUIRED_ACR_KEY,
  REQUIRED_FRESH_AUTH_KEY,
  RequireFreshAuth,
  RequireMfa,
} from './decorators/require-step-up.decorator.js';
export { ACR, acrSatisfies } from './step-up/acr.js';
export {
  BACKCHANNEL_LOGOUT_OPTIONS,
  type BackchannelLogoutOptions,
  BackchannelLogoutModule,
} from './backchannel-logout/backchannel-logout.module.js';
export {
  InMemoryLogoutReplayCache,
  type LogoutReplayCache,
} from './backchannel-logout/logout-replay-cache.js';
export {
  BACKCHANNEL_LOGOUT_EVENT,
  InvalidLogoutTokenError,
  LogoutTokenVerifier,
  type LogoutTokenVerifierOptions,
  type VerifiedLogout,
} from './backchannel-logout/logout-token.verifier.js';
export {
  REQUIRE_TRUSTED_ORIGIN_KEY,
  RequireTrustedOrigin,
} from './decorators/require-trusted-origin.decorator.js';
export { type GatehouseAuthAsyncOptions, GatehouseAuthModule } from './gatehouse-auth.module.js';
export {
  GATEHOUSE_AUTH_OPTIONS,
  type GatehouseAuthOptions,
  type RevocationCheck,
} from './gatehouse-auth.options.js';
export { AuthenticationGuard } from './guards/authentication.guard.js';
export { type KeySource, localKeySource, remoteKeySource } from './keys/key-sources.js';
export {
  IntrospectionRevocationCheck,
  type IntrospectionRevocationCheckOptions,
} from './tokens/introspection-revocation-check.js';
export {
  type AccessTokenClaims,
  type AccessTokenRules,
  type AccessTokenVerification,
  AccessTokenVerifier,
  type AccessTokenVerifierOptions,
} from './tokens/access-token.verifier.js';
export { DiscoveredAccessTokenVerifier } from './tokens/discovered-access-token.verifier.js';
export { PgRevocationFeed, type PgRevocationFeedOptions } from './revocation/pg-notify.feed.js';
export { RedisRevocationFeed, type RedisRevocationFeedOptions } from './revocation/redis.feed.js';
export { ClientRevocations } from './revocation/client-revocations.js';
export {
  type ClientRevocationEvent,
  REVOCATION_CHANNEL,
  type RevocationEvent,
  type RevocationFeed,
  type RevocationSink,
} from './revocation/revocation-feed.js';
export { RevocationList, type RevocationStatus } from './revocation/revocation-list.js';
export { RoutePolicies, type RoutePolicy } from './guards/route-policy.js';
export {
  HttpSessionIntrospector,
  type HttpSessionIntrospectorOptions,
} from './sessions/http-session-introspector.js';
export type { SessionIntrospection, SessionIntrospector } from './sessions/session-introspector.js';
