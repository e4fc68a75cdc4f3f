import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';

import { User } from './user.entity.js';

/** What a WebAuthn ceremony is for: adding a passkey, a passwordless sign-in, or a second step. */
export type WebAuthnPurpose = 'register' | 'sign_in' | 'second_factor';

/**
 * A WebAuthn ceremony in progress: only the SHA-256 of its challenge is kept, bound to its purpose
 * and (but for passwordless sign-in, where nobody is known yet) to a user. Spent on first use.
 */
@Entity('webauthn_challenges')
@Check('webauthn_challenges_purpose_check', `"purpose" IN ('register', 'sign_in', 'second_factor')`)
@Index('webauthn_challenges_expires_at_idx', ['expiresAt'])
@Index('webauthn_challenges_user_id_idx', ['userId'])
export class WebAuthnChallenge {
  @PrimaryColumn({ type: 'bytea', primaryKeyConstraintName: 'webauthn_challenges_pkey' })
  challengeHash!: Buffer;

  @Column({ type: 'varchar', length: 16 })
  purpose!: WebAuthnPurpose;

  @Column({ type: 'uuid', nullable: true })
  userId!: string | null;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'webauthn_challenges_user_id_fkey' })
  user?: User;

  @Column({ type: 'timestamptz' })
  createdAt!: Date;

  @Column({ type: 'timestamptz' })
  expiresAt!: Date;
}
