import {
  Check,
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  Unique,
} from 'typeorm';

import { User } from './user.entity.js';

/** How an authenticator keeps a passkey: on one device, or synced between devices (WebAuthn §6.1.3). */
export type PasskeyDeviceType = 'singleDevice' | 'multiDevice';

/**
 * A passkey (WebAuthn credential) of a user: the credential's public key (COSE) and the signature
 * counter it last reported, so a cloned authenticator whose counter goes backwards is refused.
 */
@Entity('webauthn_credentials')
@Unique('webauthn_credentials_credential_id_key', ['credentialId'])
@Check('webauthn_credentials_device_type_check', `"device_type" IN ('singleDevice', 'multiDevice')`)
@Index('webauthn_credentials_user_id_idx', ['userId'])
export class WebAuthnCredential {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'webauthn_credentials_pkey' })
  id!: string;

  @Column({ type: 'uuid' })
  userId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'webauthn_credentials_user_id_fkey' })
  user?: User;

  @Column({ type: 'bytea' })
  credentialId!: Buffer;

  @Column({ type: 'bytea' })
  publicKey!: Buffer;

  @Column({ type: 'bigint' })
  signCount!: string;

  @Column({ type: 'text', array: true })
  transports!: string[];

  @Column({ type: 'varchar', length: 16 })
  deviceType!: PasskeyDeviceType;

  @Column({ type: 'boolean' })
  backedUp!: boolean;

  @Column({ type: 'varchar', length: 64 })
  name!: string;

  @Column({ type: 'timestamptz' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;
}
