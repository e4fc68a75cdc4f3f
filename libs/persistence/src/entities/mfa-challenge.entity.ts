import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';

import { IdentityProvider } from './identity-provider.entity.js';
import { User } from './user.entity.js';

/**
 * A password (or a federated sign-in) already checked, waiting for the second factor (the `mfaToken` / `mfa_token`): only the
 * SHA-256 of the token is kept, it lives five minutes, and completing it deletes it (single use).
 */
@Entity('mfa_challenges')
@Index('mfa_challenges_user_id_idx', ['userId'])
export class MfaChallenge {
  @PrimaryColumn({ type: 'bytea', primaryKeyConstraintName: 'mfa_challenges_pkey' })
  tokenHash!: Buffer;

  @Column({ type: 'uuid' })
  userId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'mfa_challenges_user_id_fkey' })
  user?: User;

  @Column({ type: 'timestamptz' })
  createdAt!: Date;

  @Column({ type: 'timestamptz' })
  expiresAt!: Date;

  /** The first step was a federated sign-in through this provider (else a password). */
  @Column({ type: 'uuid', nullable: true })
  identityProviderId!: string | null;

  @ManyToOne(() => IdentityProvider, { onDelete: 'CASCADE' })
  @JoinColumn({
    name: 'identity_provider_id',
    foreignKeyConstraintName: 'mfa_challenges_identity_provider_id_fkey',
  })
  identityProvider?: IdentityProvider;
}
