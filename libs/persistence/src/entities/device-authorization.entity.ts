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
import { Session } from './session.entity.js';
import { User } from './user.entity.js';

export type DeviceAuthorizationStatus = 'pending' | 'approved' | 'denied' | 'redeemed';

/**
 * A device authorization request (RFC 8628): the device polls with its device code while the user
 * enters the user code on the device page. Both codes are kept as SHA-256 only. Approval binds the
 * user; the first poll after it creates the token session (`tokenSessionId`).
 */
@Entity('device_authorizations')
@Index('device_authorizations_expires_at_idx', ['expiresAt'])
@Check(
  'device_authorizations_status_check',
  `"status" IN ('pending', 'approved', 'denied', 'redeemed')`,
)
@Check(
  'device_authorizations_decision_check',
  `"status" IN ('pending', 'denied') OR "user_id" IS NOT NULL`,
)
export class DeviceAuthorization {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'device_authorizations_pkey' })
  id!: string;

  @Index('device_authorizations_device_code_hash_key', { unique: true })
  @Column({ type: 'bytea' })
  deviceCodeHash!: Buffer;

  /** SHA-256 of the 8 letters, without the dash. */
  @Index('device_authorizations_user_code_hash_key', { unique: true })
  @Column({ type: 'bytea' })
  userCodeHash!: Buffer;

  @Column({ type: 'varchar', length: 128 })
  clientId!: string;

  @ManyToOne(() => Client, { onDelete: 'CASCADE' })
  @JoinColumn({
    name: 'client_id',
    foreignKeyConstraintName: 'device_authorizations_client_id_fkey',
  })
  client?: Client;

  @Column({ type: 'text' })
  scope!: string;

  @Column({ type: 'varchar', length: 16, default: 'pending' })
  status!: DeviceAuthorizationStatus;

  /** Seconds the device must wait between polls; grows by 5 at every `slow_down`. */
  @Column({ type: 'integer' })
  intervalSeconds!: number;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @Column({ type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ type: 'timestamptz', nullable: true })
  lastPolledAt!: Date | null;

  /** Who approved (or denied) it on the device page. */
  @Column({ type: 'uuid', nullable: true })
  userId!: string | null;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'device_authorizations_user_id_fkey' })
  user?: User;

  /** When the approving user signed in (their browser session's start). */
  @Column({ type: 'timestamptz', nullable: true })
  authTime!: Date | null;

  /** RFC 8176 methods of the sign-in (`pwd`, `otp`, `mfa`); null when not recorded. */
  @Column({ type: 'text', array: true, nullable: true })
  amr!: string[] | null;

  @Column({ type: 'timestamptz', nullable: true })
  decidedAt!: Date | null;

  @Column({ type: 'uuid', nullable: true })
  tokenSessionId!: string | null;

  @ManyToOne(() => Session, { onDelete: 'SET NULL' })
  @JoinColumn({
    name: 'token_session_id',
    foreignKeyConstraintName: 'device_authorizations_token_session_id_fkey',
  })
  tokenSession?: Session;

  /** The browser (cookie) session whose sign-in approved it: the parent of the token session. */
  @Column({ type: 'uuid', nullable: true })
  browserSessionId!: string | null;

  @ManyToOne(() => Session, { onDelete: 'SET NULL' })
  @JoinColumn({
    name: 'browser_session_id',
    foreignKeyConstraintName: 'device_authorizations_browser_session_id_fkey',
  })
  browserSession?: Session;
}
