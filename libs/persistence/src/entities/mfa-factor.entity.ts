import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';

import { User } from './user.entity.js';

export type MfaFactorKind = 'totp';

/**
 * A second factor of a user. A TOTP factor keeps its secret sealed under `KEY_ENCRYPTION_KEY`
 * (AES-256-GCM, the factor id as additional data) and the last time step it accepted, so a code is
 * accepted once. Unconfirmed factors count for nothing and expire.
 */
@Entity('mfa_factors')
@Check('mfa_factors_kind_check', `"kind" IN ('totp')`)
@Index('mfa_factors_user_id_idx', ['userId'])
export class MfaFactor {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'mfa_factors_pkey' })
  id!: string;

  @Column({ type: 'uuid' })
  userId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'mfa_factors_user_id_fkey' })
  user?: User;

  @Column({ type: 'varchar', length: 16 })
  kind!: MfaFactorKind;

  @Column({ type: 'bytea' })
  secretSealed!: Buffer;

  @Column({ type: 'bigint', nullable: true })
  lastUsedStep!: string | null;

  @Column({ type: 'timestamptz' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', nullable: true })
  confirmedAt!: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;
}
