import { Check, Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * The durable revocation feed: a revoked session (`sid`) or every session of a user. Guards that verify
 * JWTs locally keep these until `until`, the latest expiry of an access token the revocation can cover.
 */
@Entity('revocations')
@Check('revocations_target_check', `"session_id" IS NOT NULL OR "user_id" IS NOT NULL`)
@Index('revocations_until_idx', ['until'])
export class Revocation {
  @PrimaryGeneratedColumn('identity', {
    type: 'bigint',
    generatedIdentity: 'ALWAYS',
    primaryKeyConstraintName: 'revocations_pkey',
  })
  id!: string;

  @Column({ type: 'uuid', nullable: true })
  sessionId!: string | null;

  @Column({ type: 'uuid', nullable: true })
  userId!: string | null;

  @Column({ type: 'timestamptz' })
  revokedAt!: Date;

  @Column({ type: 'timestamptz' })
  until!: Date;
}
