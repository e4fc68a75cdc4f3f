export { AuditEvent } from './entities/audit-event.entity.js';
export { AuthorizationCode } from './entities/authorization-code.entity.js';
export { Client } from './entities/client.entity.js';
export { Consent } from './entities/consent.entity.js';
export {
  DeviceAuthorization,
  type DeviceAuthorizationStatus,
} from './entities/device-authorization.entity.js';
export {
  EmailVerification,
  type EmailVerificationPurpose,
} from './entities/email-verification.entity.js';
export { FederatedIdentity } from './entities/federated-identity.entity.js';
export { FederationState } from './entities/federation-state.entity.js';
export {
  type FederationLinking,
  type FederationProvisioning,
  IdentityProvider,
  type IdentityProviderConfig,
  type IdentityProviderType,
  type OidcProviderConfig,
  type SamlProviderConfig,
} from './entities/identity-provider.entity.js';
export { LogoutDelivery, type LogoutDeliveryStatus } from './entities/logout-delivery.entity.js';
export { MailMessage, type MailStatus } from './entities/mail-message.entity.js';
export { WebhookDelivery, type WebhookDeliveryStatus } from './entities/webhook-delivery.entity.js';
export { WebhookEndpoint } from './entities/webhook-endpoint.entity.js';
export { MfaChallenge } from './entities/mfa-challenge.entity.js';
export { MfaFactor, type MfaFactorKind } from './entities/mfa-factor.entity.js';
export { MfaRecoveryCode } from './entities/mfa-recovery-code.entity.js';
export { PasswordReset } from './entities/password-reset.entity.js';
export { RefreshToken } from './entities/refresh-token.entity.js';
export { Revocation } from './entities/revocation.entity.js';
export { SamlAssertionId } from './entities/saml-assertion-id.entity.js';
export { Session, type SessionKind } from './entities/session.entity.js';
export { SigningKey, type SigningKeyStatus } from './entities/signing-key.entity.js';
export { User } from './entities/user.entity.js';
export { WebAuthnChallenge, type WebAuthnPurpose } from './entities/webauthn-challenge.entity.js';
export {
  type PasskeyDeviceType,
  WebAuthnCredential,
} from './entities/webauthn-credential.entity.js';
export { type DatabaseOptions, dataSourceOptions, entities } from './data-source-options.js';
export { Database, type Repositories } from './database.js';
export { isDatabaseUnavailableError, isUniqueViolation } from './database-errors.js';
export {
  type DataDirHolder,
  DataDirInUseError,
  findDataDirHolder,
} from './embedded/data-dir-claim.js';
export {
  type EmbeddedDatabase,
  type Interruption,
  startEmbeddedPostgres,
} from './embedded/embedded-postgres.js';
export {
  installJobQueue,
  type JobAttempt,
  type JobHandler,
  type JobLog,
  type JobWorker,
  type JobWorkerOptions,
  startJobWorker,
} from './job-queue.js';
export { migrateDatabase, revertLastMigration } from './migrate-database.js';
export { migrations } from './migrations/index.js';
export { PersistenceModule, type PersistenceOptions } from './persistence.module.js';
export { PipelinedStatements, pipelinedStatementsOf } from './pipelined-statements.js';
export type { NewAuditEvent } from './repositories/audit-event.repository.js';
export type {
  AuditCursor,
  AuditEventFilter,
  AuditEventRow,
} from './repositories/audit-event.repository.js';
export type {
  AuthorizationCodeState,
  NewAuthorizationCode,
} from './repositories/authorization-code.repository.js';
export type { ClientChanges, NewClient } from './repositories/client.repository.js';
export type {
  NewEmailVerification,
  SpentEmailVerification,
} from './repositories/email-verification.repository.js';
export type {
  FederatedIdentityRow,
  NewFederationState,
} from './repositories/federation.repository.js';
export type {
  IdentityProviderChanges,
  NewIdentityProvider,
} from './repositories/identity-provider.repository.js';
export type { NewJob } from './repositories/job.repository.js';
export type {
  LogoutAttemptOutcome,
  LogoutDeliveryCursor,
  LogoutDeliveryListRow,
  PlannedLogoutDelivery,
} from './repositories/logout-delivery.repository.js';
export type {
  MfaFactorRow,
  NewMfaFactor,
  NewPasskey,
  PasskeyRow,
} from './repositories/mfa.repository.js';
export type {
  NewPasswordReset,
  PasswordResetTarget,
} from './repositories/password-reset.repository.js';
export type {
  NewWebhookDelivery,
  NewWebhookEndpoint,
  WebhookAttemptOutcome,
  WebhookDeliveryCursor,
  WebhookDeliveryListRow,
  WebhookDeliveryView,
  WebhookDeliveryWork,
  WebhookEndpointChanges,
  WebhookEndpointView,
  WebhookSigningSecrets,
} from './repositories/webhook.repository.js';
export type {
  MailCursor,
  MailListRow,
  MailSummary,
  NewMailMessage,
} from './repositories/mail-message.repository.js';
export {
  type NewDeviceAuthorization,
  type PendingDeviceAuthorization,
  type PolledDeviceAuthorization,
  SLOW_DOWN_STEP_SECONDS,
} from './repositories/device-authorization.repository.js';
export type {
  NewRefreshToken,
  RefreshAttempt,
  RefreshOutcome,
  RefreshTokenState,
} from './repositories/refresh-token.repository.js';
export type {
  AdminSessionRow,
  CookieSessionWithUser,
  SessionCursor,
  SessionFilter,
  NewTokenSession,
  SessionStatus,
  NewCookieSession,
  RevocationReason,
  SessionSummary,
  SessionTimes,
} from './repositories/session.repository.js';
export type { NewSigningKey } from './repositories/signing-key.repository.js';
export type { NewUser, UserCursor, UserListRow } from './repositories/user.repository.js';
