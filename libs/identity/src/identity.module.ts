import { Module } from '@nestjs/common';

import { AuditService } from './audit/audit.service.js';
import { AuthorizationCodeService } from './authorization/authorization-code.service.js';
import { AuthorizationService } from './authorization/authorization.service.js';
import { DeviceAuthorizationService } from './authorization/device-authorization.service.js';
import { EndSessionService } from './authorization/end-session.service.js';
import { InteractionSealer } from './authorization/interaction-sealer.js';
import { BackchannelLogoutService } from './backchannel-logout/backchannel-logout.service.js';
import { LogoutTokenIssuer } from './backchannel-logout/logout-token.js';
import { ClientCache } from './clients/client-cache.js';
import { ClientService } from './clients/client.service.js';
import { Clock } from './clock.js';
import { EmailChangeService } from './email-verification/email-change.service.js';
import { EmailLinks } from './email-verification/email-links.js';
import { EmailVerificationService } from './email-verification/email-verification.service.js';
import { FederationService } from './federation/federation.service.js';
import { IdentityProviderService } from './federation/identity-provider.service.js';
import { OidcRelyingParty } from './federation/oidc-relying-party.js';
import { SamlServiceProvider } from './federation/saml-service-provider.js';
import { LoginLimiter } from './rate-limits/login-limiter.js';
import { RevocationPublisher } from './revocations/revocation-publisher.js';
import { RevocationService } from './revocations/revocation.service.js';
import { SessionAdministrationService } from './sessions/session-administration.service.js';
import { SessionCache } from './sessions/session-cache.js';
import { SessionHousekeeping } from './sessions/session-housekeeping.js';
import { SessionService } from './sessions/session.service.js';
import { SigningKeyService } from './signing-keys/signing-key.service.js';
import { MailAdministrationService } from './mail/mail-administration.service.js';
import { MailDelivery } from './mail/mail-delivery.js';
import { OutboundHttp } from './outbound/outbound-http.js';
import { WebhookDeliveryTask } from './webhooks/webhook-delivery.task.js';
import { WebhookEmitter } from './webhooks/webhook-emitter.js';
import { WebhookService } from './webhooks/webhook.service.js';
import { MailTransport } from './mail/mail-transport.js';
import { MailService } from './mail/mail.service.js';
import { MfaService } from './mfa/mfa.service.js';
import { PasskeyCeremonies } from './mfa/passkey-ceremonies.js';
import { PasskeyService } from './mfa/passkey.service.js';
import { ResourceIndicators } from './oauth/resource-indicators.js';
import { PasswordResetService } from './password-resets/password-reset.service.js';
import { AccessTokenIssuer } from './tokens/access-token.issuer.js';
import { RefreshTokenService } from './tokens/refresh-token.service.js';
import { TokenGrantsService } from './tokens/token-grants.service.js';
import { TokenIntrospectionService } from './tokens/token-introspection.service.js';
import { PasswordAuthenticator } from './users/password-authenticator.js';
import { PasswordHasher } from './users/password-hasher.js';
import { UserAdministrationService } from './users/user-administration.service.js';
import { UserService } from './users/user.service.js';
import { MfaAdministrationService } from './mfa/mfa-administration.service.js';
import { MfaPolicy } from './mfa/mfa-policy.js';

const services = [
  Clock,
  PasswordHasher,
  AuditService,
  LoginLimiter,
  SessionCache,
  ClientCache,
  RevocationPublisher,
  RevocationService,
  LogoutTokenIssuer,
  BackchannelLogoutService,
  PasskeyCeremonies,
  MfaService,
  PasskeyService,
  PasswordAuthenticator,
  UserService,
  SessionService,
  SessionHousekeeping,
  SessionAdministrationService,
  UserAdministrationService,
  ClientService,
  SigningKeyService,
  AccessTokenIssuer,
  ResourceIndicators,
  RefreshTokenService,
  TokenGrantsService,
  TokenIntrospectionService,
  AuthorizationCodeService,
  AuthorizationService,
  InteractionSealer,
  DeviceAuthorizationService,
  EndSessionService,
  MailService,
  MailTransport,
  MailDelivery,
  OutboundHttp,
  WebhookEmitter,
  WebhookService,
  WebhookDeliveryTask,
  MailAdministrationService,
  PasswordResetService,
  EmailLinks,
  EmailVerificationService,
  EmailChangeService,
  IdentityProviderService,
  OidcRelyingParty,
  SamlServiceProvider,
  FederationService,
  MfaAdministrationService,
  MfaPolicy,
];

/** The product's rules. Needs `PersistenceModule` and `ConfigModule` (global) in the importing app. */
@Module({ providers: services, exports: services })
export class IdentityModule {}
