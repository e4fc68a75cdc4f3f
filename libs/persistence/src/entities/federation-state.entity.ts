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

  /** OIDC only. */
  @Column({ type: 'bytea', nullable: true })
  codeVerifierSealed!: Buffer | null;

  /** OIDC only. */
  @Column({ type: 'varchar', length: 128, nullable: true })
  nonce!: string | null;

  /** SAML only: the ID of the AuthnRequest, which the response's `InResponseTo` must name. */
  @Column({ type: 'varchar', length: 128, nullable: true })
  samlRequestId!: string | null;

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
