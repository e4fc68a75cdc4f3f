import {
  Check,
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';

import { User } from './user.entity.js';

/** `verify`: the account's own address; `change`: a new address, applied when confirmed. */
export type EmailVerificationPurpose = 'verify' | 'change';

/**
 * A link that proves an address belongs to a user: 32 random bytes, only its SHA-256 kept, single
 * use (`used_at`), until `expires_at`, void once a newer link of the same purpose is issued or the
 * change is cancelled (`voided_at`). An email change also has a cancel link, sent to the old address.
 */
@Entity('email_verifications')
@Check('email_verifications_purpose_check', `"purpose" IN ('verify', 'change')`)
// The per-user mail budget counts the links of the last window.
@Index('email_verifications_user_id_created_at_idx', ['userId', 'createdAt'])
export class EmailVerification {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'email_verifications_pkey' })
  id!: string;

  @Column({ type: 'uuid' })
  userId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'email_verifications_user_id_fkey' })
  user?: User;

  @Column({ type: 'varchar', length: 16 })
  purpose!: EmailVerificationPurpose;

  /** The address the link proves: the account's at issue (`verify`), or the new one (`change`). */
  @Column({ type: 'varchar', length: 254 })
  email!: string;

  @Index('email_verifications_token_hash_key', { unique: true })
  @Column({ type: 'bytea' })
  tokenHash!: Buffer;

  @Index('email_verifications_cancel_token_hash_key', { unique: true })
  @Column({ type: 'bytea', nullable: true })
  cancelTokenHash!: Buffer | null;

  @Column({ type: 'timestamptz' })
  createdAt!: Date;

  @Column({ type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ type: 'timestamptz', nullable: true })
  usedAt!: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  voidedAt!: Date | null;
}
