import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn, UpdateDateColumn } from 'typeorm';

import { Client } from './client.entity.js';
import { User } from './user.entity.js';

/** The scopes a user granted a third-party client: the consent page is skipped while they cover a request. */
@Entity('consents')
export class Consent {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'consents_pkey' })
  userId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'consents_user_id_fkey' })
  user?: User;

  @PrimaryColumn({ type: 'varchar', length: 128, primaryKeyConstraintName: 'consents_pkey' })
  clientId!: string;

  @ManyToOne(() => Client, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'client_id', foreignKeyConstraintName: 'consents_client_id_fkey' })
  client?: Client;

  @Column({ type: 'text', array: true })
  scopes!: string[];

  @UpdateDateColumn({ type: 'timestamptz' })
  grantedAt!: Date;
}
