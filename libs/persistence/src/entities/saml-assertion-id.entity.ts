import { Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, Column } from 'typeorm';

import { IdentityProvider } from './identity-provider.entity.js';

/**
 * An assertion a SAML identity provider sent and we accepted (SHA-256 of its ID), kept until the
 * assertion expires: the same assertion posted again is refused (replay).
 */
@Entity('saml_assertion_ids')
@Index('saml_assertion_ids_expires_at_idx', ['expiresAt'])
export class SamlAssertionId {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'saml_assertion_ids_pkey' })
  providerId!: string;

  @ManyToOne(() => IdentityProvider, { onDelete: 'CASCADE' })
  @JoinColumn({
    name: 'provider_id',
    foreignKeyConstraintName: 'saml_assertion_ids_provider_id_fkey',
  })
  provider?: IdentityProvider;

  @PrimaryColumn({ type: 'bytea', primaryKeyConstraintName: 'saml_assertion_ids_pkey' })
  assertionIdHash!: Buffer;

  @Column({ type: 'timestamptz' })
  expiresAt!: Date;
}
