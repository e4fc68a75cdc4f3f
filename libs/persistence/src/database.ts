import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';

import { AuditEventRepository } from './repositories/audit-event.repository.js';
import { AuthorizationCodeRepository } from './repositories/authorization-code.repository.js';
import { ClientRepository } from './repositories/client.repository.js';
import { ConsentRepository } from './repositories/consent.repository.js';
import { DeviceAuthorizationRepository } from './repositories/device-authorization.repository.js';
import { EmailVerificationRepository } from './repositories/email-verification.repository.js';
import { FederationRepository } from './repositories/federation.repository.js';
import { IdentityProviderRepository } from './repositories/identity-provider.repository.js';
import { JobRepository } from './repositories/job.repository.js';
import { LogoutDeliveryRepository } from './repositories/logout-delivery.repository.js';
import { MailMessageRepository } from './repositories/mail-message.repository.js';
import { MfaRepository } from './repositories/mfa.repository.js';
import { PasswordResetRepository } from './repositories/password-reset.repository.js';
import { RefreshTokenRepository } from './repositories/refresh-token.repository.js';
import { RevocationRepository } from './repositories/revocation.repository.js';
import { SessionRepository } from './repositories/session.repository.js';
import { SigningKeyRepository } from './repositories/signing-key.repository.js';
import { UserRepository } from './repositories/user.repository.js';
import { WebhookRepository } from './repositories/webhook.repository.js';

/** The repositories, all bound to one EntityManager (the pool, or one transaction). */
export interface Repositories {
  readonly users: UserRepository;
  readonly sessions: SessionRepository;
  readonly refreshTokens: RefreshTokenRepository;
  readonly clients: ClientRepository;
  readonly signingKeys: SigningKeyRepository;
  readonly revocations: RevocationRepository;
  readonly auditEvents: AuditEventRepository;
  readonly authorizationCodes: AuthorizationCodeRepository;
  readonly consents: ConsentRepository;
  readonly deviceAuthorizations: DeviceAuthorizationRepository;
  readonly passwordResets: PasswordResetRepository;
  /** The job queue: on a transaction's repositories, a job exists if and only if it commits. */
  readonly jobs: JobRepository;
  readonly mailMessages: MailMessageRepository;
  readonly emailVerifications: EmailVerificationRepository;
  readonly mfa: MfaRepository;
  readonly identityProviders: IdentityProviderRepository;
  readonly federation: FederationRepository;
  /** Back-channel logout tokens to deliver (OpenID Connect Back-Channel Logout 1.0). */
  readonly logoutDeliveries: LogoutDeliveryRepository;
  /** Webhook endpoints and their deliveries (Standard Webhooks). */
  readonly webhooks: WebhookRepository;
  /**
   * Runs `callback` once the unit of work has committed (at once outside a transaction), e.g. a
   * broadcast that must never announce a change that was rolled back. Failures are the callback's own.
   */
  afterCommit(callback: () => Promise<void>): void;
}

type AfterCommit = Repositories['afterCommit'];

const immediately: AfterCommit = (callback) => void callback();

function repositoriesFor(
  manager: EntityManager,
  afterCommit: AfterCommit = immediately,
): Repositories {
  return {
    afterCommit,
    users: new UserRepository(manager),
    sessions: new SessionRepository(manager),
    refreshTokens: new RefreshTokenRepository(manager),
    clients: new ClientRepository(manager),
    signingKeys: new SigningKeyRepository(manager),
    revocations: new RevocationRepository(manager),
    auditEvents: new AuditEventRepository(manager),
    authorizationCodes: new AuthorizationCodeRepository(manager),
    consents: new ConsentRepository(manager),
    deviceAuthorizations: new DeviceAuthorizationRepository(manager),
    jobs: new JobRepository(manager),
    mailMessages: new MailMessageRepository(manager),
    passwordResets: new PasswordResetRepository(manager),
    emailVerifications: new EmailVerificationRepository(manager),
    mfa: new MfaRepository(manager),
    identityProviders: new IdentityProviderRepository(manager),
    federation: new FederationRepository(manager),
    logoutDeliveries: new LogoutDeliveryRepository(manager),
    webhooks: new WebhookRepository(manager),
  };
}

/**
 * The services' only door to PostgreSQL: repositories on the pool for single statements, and
 * `transaction()` for a unit of work that must land whole or not at all.
 */
@Injectable()
export class Database implements Repositories {
  readonly users: UserRepository;
  readonly sessions: SessionRepository;
  readonly refreshTokens: RefreshTokenRepository;
  readonly clients: ClientRepository;
  readonly signingKeys: SigningKeyRepository;
  readonly revocations: RevocationRepository;
  readonly auditEvents: AuditEventRepository;
  readonly authorizationCodes: AuthorizationCodeRepository;
  readonly consents: ConsentRepository;
  readonly deviceAuthorizations: DeviceAuthorizationRepository;
  readonly passwordResets: PasswordResetRepository;
  readonly jobs: JobRepository;
  readonly mailMessages: MailMessageRepository;
  readonly emailVerifications: EmailVerificationRepository;
  readonly mfa: MfaRepository;
  readonly identityProviders: IdentityProviderRepository;
  readonly federation: FederationRepository;
  readonly logoutDeliveries: LogoutDeliveryRepository;
  readonly webhooks: WebhookRepository;
  readonly afterCommit: AfterCommit = immediately;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    ({
      users: this.users,
      sessions: this.sessions,
      refreshTokens: this.refreshTokens,
      clients: this.clients,
      signingKeys: this.signingKeys,
      revocations: this.revocations,
      auditEvents: this.auditEvents,
      authorizationCodes: this.authorizationCodes,
      consents: this.consents,
      deviceAuthorizations: this.deviceAuthorizations,
      jobs: this.jobs,
      mailMessages: this.mailMessages,
      passwordResets: this.passwordResets,
      emailVerifications: this.emailVerifications,
      mfa: this.mfa,
      identityProviders: this.identityProviders,
      federation: this.federation,
      logoutDeliveries: this.logoutDeliveries,
      webhooks: this.webhooks,
    } = repositoriesFor(dataSource.manager));
  }

  transaction<T>(work: (repositories: Repositories) => Promise<T>): Promise<T> {
    return this.unitOfWork((manager, afterCommit) => work(repositoriesFor(manager, afterCommit)));
  }

  /** Serialises a unit of work across every process (e.g. bootstrap of the first operator). */
  exclusively<T>(lockName: string, work: (repositories: Repositories) => Promise<T>): Promise<T> {
    return this.unitOfWork(async (manager, afterCommit) => {
      await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lockName]);
      return work(repositoriesFor(manager, afterCommit));
    });
  }

  private async unitOfWork<T>(
    work: (manager: EntityManager, afterCommit: AfterCommit) => Promise<T>,
  ): Promise<T> {
    const committed: (() => Promise<void>)[] = [];
    const result = await this.dataSource.transaction((manager) =>
      work(manager, (callback) => committed.push(callback)),
    );
    await Promise.all(committed.map((callback) => callback()));
    return result;
  }
}
