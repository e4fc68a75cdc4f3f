import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';

import { Client } from './client.entity.js';
import { IdentityProvider } from './identity-provider.entity.js';
import { User } from './user.entity.js';

export type SessionKind = 'cookie' | 'token';

/** One login, whatever the client: a cookie session or the family of a refresh token. */
@Entity('sessions')
@Check('sessions_kind_check', `"kind" IN ('cookie', 'token')`)
@Check(
  'sessions_credential_check',
  `("kind" = 'cookie' AND "token_hash" IS NOT NULL AND "client_id" IS NULL) OR ("kind" = 'token' AND "token_hash" IS NULL)`,
)
@Index('sessions_user_id_created_at_idx', ['userId', 'createdAt', 'id'])
@Index('sessions_created_at_id_idx', ['createdAt', 'id'])
@Index('sessions_client_id_idx', ['clientId'])
@Index('sessions_parent_session_id_idx', ['parentSessionId'], {
  where: '"parent_session_id" IS NOT NULL',
})
export class Session {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'sessions_pkey' })
  id!: string;

  @Column({ type: 'uuid' })
  userId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'sessions_user_id_fkey' })
  user?: User;

  @Column({ type: 'varchar', length: 16 })
  kind!: SessionKind;

  @Column({ type: 'varchar', length: 128, nullable: true })
  clientId!: string | null;

  @ManyToOne(() => Client)
  @JoinColumn({ name: 'client_id', foreignKeyConstraintName: 'sessions_client_id_fkey' })
  client?: Client;

  /** SHA-256 of the cookie token (cookie sessions only); the token itself is never stored. */
  @Index('sessions_token_hash_key', { unique: true })
  @Column({ type: 'bytea', nullable: true })
  tokenHash!: Buffer | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @Column({ type: 'timestamptz' })
  lastSeenAt!: Date;

  @Column({ type: 'timestamptz' })
  idleExpiresAt!: Date;

  @Column({ type: 'timestamptz' })
  absoluteExpiresAt!: Date;

  @Column({ type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  revokedReason!: string | null;

  /** The operator's own words when they forced the revocation (`DELETE /admin/sessions/:id`). */
  @Column({ type: 'varchar', length: 200, nullable: true })
  revokedNote!: string | null;

  /** Who revoked it: a user id, or a system actor such as `system:refresh-reuse`. */
  @Column({ type: 'varchar', length: 128, nullable: true })
  revokedBy!: string | null;

  @Column({ type: 'inet', nullable: true })
  ip!: string | null;

  /** The scope granted to a token session (space-separated); null for cookie sessions. */
  @Column({ type: 'text', nullable: true })
  scope!: string | null;

  @Column({ type: 'varchar', length: 512, nullable: true })
  userAgent!: string | null;

  /** How the user proved who they are (RFC 8176): `pwd`, plus `otp` and `mfa` with a second factor. */
  @Column({ type: 'text', array: true, nullable: true })
  amr!: string[] | null;

  /** When the user last proved who they are (OpenID Connect `auth_time`). */
  @Column({ type: 'timestamptz', nullable: true })
  authTime!: Date | null;

  /** The upstream provider of a federated sign-in (amr `fed`); null otherwise or once it is deleted. */
  @Column({ type: 'uuid', nullable: true })
  identityProviderId!: string | null;

  @ManyToOne(() => IdentityProvider, { onDelete: 'SET NULL' })
  @JoinColumn({
    name: 'identity_provider_id',
    foreignKeyConstraintName: 'sessions_identity_provider_id_fkey',
  })
  identityProvider?: IdentityProvider;

  /**
   * A token session's browser (cookie) session: the sign-in that approved its code or device. When
   * that session ends, this one ends with it (unless it holds `offline_access`). Null for other grants.
   */
  @Column({ type: 'uuid', nullable: true })
  parentSessionId!: string | null;

  @ManyToOne(() => Session, { onDelete: 'SET NULL' })
  @JoinColumn({
    name: 'parent_session_id',
    foreignKeyConstraintName: 'sessions_parent_session_id_fkey',
  })
  parentSession?: Session;
}
