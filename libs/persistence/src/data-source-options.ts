import type { DataSourceOptions } from 'typeorm';

import { AuditEvent } from './entities/audit-event.entity.js';
import { AuthorizationCode } from './entities/authorization-code.entity.js';
import { Client } from './entities/client.entity.js';
import { Consent } from './entities/consent.entity.js';
import { DeviceAuthorization } from './entities/device-authorization.entity.js';
import { EmailVerification } from './entities/email-verification.entity.js';
import { FederatedIdentity } from './entities/federated-identity.entity.js';
import { FederationState } from './entities/federation-state.entity.js';
import { IdentityProvider } from './entities/identity-provider.entity.js';
import { MfaChallenge } from './entities/mfa-challenge.entity.js';
import { MfaFactor } from './entities/mfa-factor.entity.js';
import { MfaRecoveryCode } from './entities/mfa-recovery-code.entity.js';
import { LogoutDelivery } from './entities/logout-delivery.entity.js';
import { MailMessage } from './entities/mail-message.entity.js';
import { PasswordReset } from './entities/password-reset.entity.js';
import { RefreshToken } from './entities/refresh-token.entity.js';
import { Revocation } from './entities/revocation.entity.js';
import { SamlAssertionId } from './entities/saml-assertion-id.entity.js';
import { Session } from './entities/session.entity.js';
import { SigningKey } from './entities/signing-key.entity.js';
import { User } from './entities/user.entity.js';
import { WebAuthnChallenge } from './entities/webauthn-challenge.entity.js';
import { WebAuthnCredential } from './entities/webauthn-credential.entity.js';
import { WebhookDelivery } from './entities/webhook-delivery.entity.js';
import { WebhookEndpoint } from './entities/webhook-endpoint.entity.js';
import { migrations } from './migrations/index.js';
import { SnakeCaseNamingStrategy } from './snake-case.naming-strategy.js';

/** Entities are listed as classes: globs do not survive bundling. */
export const entities = [
  User,
  Client,
  Session,
  RefreshToken,
  SigningKey,
  Revocation,
  AuditEvent,
  AuthorizationCode,
  Consent,
  DeviceAuthorization,
  MailMessage,
  LogoutDelivery,
  PasswordReset,
  EmailVerification,
  MfaFactor,
  MfaRecoveryCode,
  MfaChallenge,
  WebAuthnCredential,
  WebAuthnChallenge,
  IdentityProvider,
  FederatedIdentity,
  FederationState,
  SamlAssertionId,
  WebhookEndpoint,
  WebhookDelivery,
];

export interface DatabaseOptions {
  readonly url: string;
  readonly poolSize?: number;
  /** Connections of the pipelined client (pipelined-statements.ts); 0 or unset: none. */
  readonly pipelinePoolSize?: number;
  /** A request that cannot get a connection within this time fails (503) instead of hanging. */
  readonly connectTimeoutMs?: number;
  /** Shown in pg_stat_activity. */
  readonly applicationName?: string;
}

export function dataSourceOptions(options: DatabaseOptions): DataSourceOptions {
  return {
    type: 'postgres',
    url: options.url,
    entities,
    migrations,
    migrationsTableName: 'migrations',
    namingStrategy: new SnakeCaseNamingStrategy(),
    synchronize: false,
    // gen_random_uuid() is built into PostgreSQL 13+: no extension to install.
    uuidExtension: 'pgcrypto',
    installExtensions: false,
    migrationsRun: false,
    extra: {
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 3000,
      application_name: options.applicationName ?? 'gatehouse',
      statement_timeout: 15_000,
    },
  };
}
