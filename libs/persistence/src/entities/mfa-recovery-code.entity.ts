import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';

import { User } from './user.entity.js';

/** One single-use recovery code of a user; only its SHA-256 is kept. */
@Entity('mfa_recovery_codes')
@Index('mfa_recovery_codes_user_id_code_hash_key', ['userId', 'codeHash'], { unique: true })
export class MfaRecoveryCode {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'mfa_recovery_codes_pkey' })
  id!: string;

  @Column({ type: 'uuid' })
  userId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'mfa_recovery_codes_user_id_fkey' })
  user?: User;

  @Column({ type: 'bytea' })
  codeHash!: Buffer;

  @Column({ type: 'timestamptz' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', nullable: true })
  usedAt!: Date | null;
}
