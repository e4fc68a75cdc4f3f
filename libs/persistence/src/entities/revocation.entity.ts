import { Check, Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * The durable revocation feed: a revoked session (`sid`), every session of a user, or every token a
 * client obtained for itself (client credentials) up to `revoked_at`. Guards that verify JWTs locally
 * keep these until `until`, the latest expiry of an access token the revocation can cover.
 */
@Entity('revocations')
@Check(
  'revocations_target_check',
  `"session_id" IS NOT NULL OR "user_id" IS NOT NULL OR "client_id" IS NOT NULL`,
)
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

  /** Client-credentials tokens of this client issued at or before `revoked_at` are refused. */
  @Column({ type: 'varchar', length: 128, nullable: true })
  clientId!: string | null;

  @Column({ type: 'timestamptz' })
  revokedAt!: Date;

  @Column({ type: 'timestamptz' })
  until!: Date;
}
