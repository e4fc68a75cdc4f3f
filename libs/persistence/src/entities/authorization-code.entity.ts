import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';

import { Client } from './client.entity.js';
import { Session } from './session.entity.js';
import { User } from './user.entity.js';

/**
 * An authorization code (RFC 6749 §4.1, PKCE RFC 7636): one use, short-lived, only its SHA-256 kept.
 * Redeeming it creates a token session (`tokenSessionId`); a second redemption revokes that session.
 */
@Entity('authorization_codes')
@Index('authorization_codes_expires_at_idx', ['expiresAt'])
export class AuthorizationCode {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'authorization_codes_pkey' })
  id!: string;

  @Index('authorization_codes_code_hash_key', { unique: true })
  @Column({ type: 'bytea' })
  codeHash!: Buffer;

  @Column({ type: 'varchar', length: 128 })
  clientId!: string;

  @ManyToOne(() => Client, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'client_id', foreignKeyConstraintName: 'authorization_codes_client_id_fkey' })
  client?: Client;

  @Column({ type: 'uuid' })
  userId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'authorization_codes_user_id_fkey' })
  user?: User;

  /** Exactly as the client sent it to the authorization endpoint; the token request must repeat it. */
  @Column({ type: 'text' })
  redirectUri!: string;

  @Column({ type: 'text' })
  scope!: string;

  /** RFC 8707: the resources asked for at the authorization endpoint (none: the default audience). */
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  resources!: string[];

  /** BASE64URL(SHA-256(code_verifier)): only S256 is accepted. */
  @Column({ type: 'varchar', length: 128 })
  codeChallenge!: string;

  /** OpenID Connect: echoed in the ID token. */
  @Column({ type: 'varchar', length: 512, nullable: true })
  nonce!: string | null;

  /** When the user last signed in (the browser session's start), for `auth_time` and `max_age`. */
  @Column({ type: 'timestamptz' })
  authTime!: Date;

  /** RFC 8176 methods of the sign-in (`pwd`, `otp`, `mfa`); null when not recorded. */
  @Column({ type: 'text', array: true, nullable: true })
  amr!: string[] | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @Column({ type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ type: 'timestamptz', nullable: true })
  usedAt!: Date | null;

  @Column({ type: 'uuid', nullable: true })
  tokenSessionId!: string | null;

  @ManyToOne(() => Session, { onDelete: 'SET NULL' })
  @JoinColumn({
    name: 'token_session_id',
    foreignKeyConstraintName: 'authorization_codes_token_session_id_fkey',
  })
  tokenSession?: Session;

  /** The browser (cookie) session whose sign-in approved it: the parent of the token session. */
  @Column({ type: 'uuid', nullable: true })
  browserSessionId!: string | null;

  @ManyToOne(() => Session, { onDelete: 'SET NULL' })
  @JoinColumn({
    name: 'browser_session_id',
    foreignKeyConstraintName: 'authorization_codes_browser_session_id_fkey',
  })
  browserSession?: Session;
}
