import { Column, Entity, Index, JoinColumn, OneToOne, PrimaryColumn } from 'typeorm';

import { User } from './user.entity.js';

/**
 * A user's live password reset link (OWASP Forgot Password Cheat Sheet): at most one per user, so a
 * newer request replaces it; the reset, or any other password change, deletes it. Only the SHA-256
 * of the token is kept: a copy of the table opens no account.
 */
@Entity('password_resets')
export class PasswordReset {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'password_resets_pkey' })
  userId!: string;

  @OneToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'password_resets_user_id_fkey' })
  user?: User;

  @Index('password_resets_token_hash_key', { unique: true })
  @Column({ type: 'bytea' })
  tokenHash!: Buffer;

  @Column({ type: 'timestamptz' })
  createdAt!: Date;

  @Column({ type: 'timestamptz' })
  expiresAt!: Date;
}
