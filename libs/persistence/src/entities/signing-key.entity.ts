import { Check, Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

export type SigningKeyStatus = 'next' | 'active' | 'retired';

/** A JWT signing key: published in the JWKS while `next`, `active` or `retired`. */
@Entity('signing_keys')
@Check('signing_keys_status_check', `"status" IN ('next', 'active', 'retired')`)
@Index('signing_keys_status_idx', ['status'])
// Partial unique index (at most one `next`, one `active`): created by the migration, not modelled here.
@Index('signing_keys_status_single_idx', { synchronize: false })
export class SigningKey {
  @PrimaryColumn({ type: 'varchar', length: 64, primaryKeyConstraintName: 'signing_keys_pkey' })
  kid!: string;

  @Column({ type: 'varchar', length: 16 })
  alg!: string;

  @Column({ type: 'jsonb' })
  publicJwk!: Record<string, unknown>;

  /** The private key, AES-256-GCM encrypted under the key-encryption key (`KEY_ENCRYPTION_KEY`). */
  @Column({ type: 'bytea' })
  privateKeyEncrypted!: Buffer;

  @Column({ type: 'varchar', length: 16 })
  status!: SigningKeyStatus;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', nullable: true })
  activatedAt!: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  retiredAt!: Date | null;
}
