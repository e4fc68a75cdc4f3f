import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';

import { IdentityProvider } from './identity-provider.entity.js';

/**
 * A redirect to an upstream provider waiting for its callback: the SHA-256 of `state`, the PKCE
 * verifier (sealed), the nonce, and where the sign-in goes on (a sealed authorization interaction, the
 * device page, a return path) or, for linking, the session that asked. Spent by the callback.
 */
@Entity('federation_states')
@Index('federation_states_expires_at_idx', ['expiresAt'])
export class FederationState {
  @PrimaryColumn({ type: 'bytea', primaryKeyConstraintName: 'federation_states_pkey' })
  stateHash!: Buffer;

  @Column({ type: 'uuid' })
  providerId!: string;

  @ManyToOne(() => IdentityProvider, { onDelete: 'CASCADE' })
  @JoinColumn({
    name: 'provider_id',
    foreignKeyConstraintName: 'federation_states_provider_id_fkey',
  })
  provider?: IdentityProvider;

  @Column({ type: 'bytea' })
  codeVerifierSealed!: Buffer;

  @Column({ type: 'varchar', length: 128 })
  nonce!: string;

  @Column({ type: 'text', nullable: true })
  interaction!: string | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  device!: string | null;

  @Column({ type: 'text', nullable: true })
  returnTo!: string | null;

  @Column({ type: 'uuid', nullable: true })
  linkSessionId!: string | null;

  @Column({ type: 'timestamptz' })
  createdAt!: Date;

  @Column({ type: 'timestamptz' })
  expiresAt!: Date;
}
