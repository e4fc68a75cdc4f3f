import {
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  Unique,
} from 'typeorm';

import { IdentityProvider } from './identity-provider.entity.js';
import { User } from './user.entity.js';

/** An upstream account (provider, subject) linked to one user: signing in there signs in here. */
@Entity('federated_identities')
@Unique('federated_identities_provider_id_subject_key', ['providerId', 'subject'])
@Index('federated_identities_user_id_idx', ['userId'])
export class FederatedIdentity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'federated_identities_pkey' })
  id!: string;

  @Column({ type: 'uuid' })
  userId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'federated_identities_user_id_fkey' })
  user?: User;

  @Column({ type: 'uuid' })
  providerId!: string;

  @ManyToOne(() => IdentityProvider, { onDelete: 'CASCADE' })
  @JoinColumn({
    name: 'provider_id',
    foreignKeyConstraintName: 'federated_identities_provider_id_fkey',
  })
  provider?: IdentityProvider;

  /** The upstream `sub`. */
  @Column({ type: 'varchar', length: 255 })
  subject!: string;

  /** The email the upstream gave at the last sign-in (for display). */
  @Column({ type: 'varchar', length: 254, nullable: true })
  email!: string | null;

  @Column({ type: 'timestamptz' })
  linkedAt!: Date;

  @Column({ type: 'timestamptz', nullable: true })
  lastSignInAt!: Date | null;
}
