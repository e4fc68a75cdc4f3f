import { Check, Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/** `failed`: the last attempt failed and another is scheduled; `dead`: no attempt is left. */
export type MailStatus = 'queued' | 'sent' | 'failed' | 'dead';

/**
 * One mail, from the transaction that caused it to its delivery: what operators see at
 * `GET /admin/mail`. The delivery itself is a graphile-worker job (`job_id`) enqueued in the same
 * transaction as this row.
 */
@Entity('mail_messages')
@Check('mail_messages_status_check', `"status" IN ('queued', 'sent', 'failed', 'dead')`)
@Index('mail_messages_created_at_id_idx', ['createdAt', 'id'])
@Index('mail_messages_status_created_at_id_idx', ['status', 'createdAt', 'id'])
export class MailMessage {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'mail_messages_pkey' })
  id!: string;

  @Column({ type: 'varchar', length: 320 })
  recipient!: string;

  @Column({ type: 'varchar', length: 64 })
  template!: string;

  /** What the template needs that is not secret (dates, names). */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  params!: Record<string, unknown>;

  /**
   * What the template needs that is secret (a reset or verification token), AES-256-GCM sealed under
   * `KEY_ENCRYPTION_KEY`; wiped once the mail is sent.
   */
  @Column({ type: 'bytea', nullable: true })
  secretSealed!: Buffer | null;

  @Column({ type: 'varchar', length: 16, default: 'queued' })
  status!: MailStatus;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  /** Why the last attempt failed: an error code and the SMTP answer, never a link or a stack. */
  @Column({ type: 'varchar', length: 500, nullable: true })
  lastError!: string | null;

  /** The graphile-worker job delivering it (gone from the queue once it completed). */
  @Column({ type: 'bigint', nullable: true })
  jobId!: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', nullable: true })
  lastAttemptAt!: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  sentAt!: Date | null;
}
