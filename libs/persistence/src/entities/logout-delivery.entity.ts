import { Check, Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * `failed`: the last attempt failed and another is scheduled; `dead`: no attempt is left;
 * `refused`: the SSRF guard refused the URI or its address (never retried).
 */
export type LogoutDeliveryStatus = 'queued' | 'delivered' | 'failed' | 'dead' | 'refused';

/**
 * One back-channel logout token (OpenID Connect Back-Channel Logout 1.0) for one client and one
 * ended session, from the transaction that ended it to its delivery: what operators see at
 * `GET /admin/clients/:id/logout-deliveries`. The token itself is signed at each attempt and never
 * stored. No foreign keys: the record outlives the client and the session.
 */
@Entity('logout_deliveries')
@Check(
  'logout_deliveries_status_check',
  `"status" IN ('queued', 'delivered', 'failed', 'dead', 'refused')`,
)
@Index('logout_deliveries_client_id_created_at_id_idx', ['clientId', 'createdAt', 'id'])
@Index('logout_deliveries_created_at_idx', ['createdAt'])
export class LogoutDelivery {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'logout_deliveries_pkey' })
  id!: string;

  @Column({ type: 'varchar', length: 128 })
  clientId!: string;

  /** The `sid` of the logout token: the session the client's ID token names. */
  @Column({ type: 'uuid' })
  sessionId!: string;

  /** The `sub` of the logout token. */
  @Column({ type: 'uuid' })
  userId!: string;

  /** The client's `backchannelLogoutUri` when the session ended. */
  @Column({ type: 'text' })
  uri!: string;

  /** Why the session ended (a RevocationReason). */
  @Column({ type: 'varchar', length: 64 })
  reason!: string;

  @Column({ type: 'varchar', length: 16, default: 'queued' })
  status!: LogoutDeliveryStatus;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  /** Why the last attempt failed (refusal, timeout, status), never a token or a stack. */
  @Column({ type: 'varchar', length: 500, nullable: true })
  lastError!: string | null;

  @Column({ type: 'integer', nullable: true })
  lastResponseStatus!: number | null;

  /** The graphile-worker job delivering it (gone from the queue once it completed). */
  @Column({ type: 'bigint', nullable: true })
  jobId!: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', nullable: true })
  lastAttemptAt!: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  deliveredAt!: Date | null;
}
