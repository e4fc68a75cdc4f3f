import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
} from 'typeorm';

import { WebhookEndpoint } from './webhook-endpoint.entity.js';

/** `pending`: an attempt is scheduled; `failed`: none is left (or the URL was refused). */
export type WebhookDeliveryStatus = 'pending' | 'succeeded' | 'failed';

/**
 * One event for one endpoint, written in the transaction that caused the event together with its
 * graphile-worker job: the operators' delivery log (`GET /admin/webhooks/:id/deliveries`). `id` is the
 * `webhook-id` header, the same on every attempt and replay, so receivers can de-duplicate.
 */
@Entity('webhook_deliveries')
@Check('webhook_deliveries_status_check', `"status" IN ('pending', 'succeeded', 'failed')`)
@Index('webhook_deliveries_endpoint_id_created_at_id_idx', ['endpointId', 'createdAt', 'id'])
@Index('webhook_deliveries_created_at_idx', ['createdAt'])
export class WebhookDelivery {
  @PrimaryColumn({
    type: 'varchar',
    length: 64,
    primaryKeyConstraintName: 'webhook_deliveries_pkey',
  })
  id!: string;

  @Column({ type: 'uuid' })
  endpointId!: string;

  @ManyToOne(() => WebhookEndpoint, { onDelete: 'CASCADE' })
  @JoinColumn({
    name: 'endpoint_id',
    foreignKeyConstraintName: 'webhook_deliveries_endpoint_id_fkey',
  })
  endpoint?: WebhookEndpoint;

  @Column({ type: 'varchar', length: 64 })
  eventType!: string;

  /** The body sent: `{type, timestamp, data}`. */
  @Column({ type: 'jsonb' })
  payload!: Record<string, unknown>;

  @Column({ type: 'varchar', length: 16, default: 'pending' })
  status!: WebhookDeliveryStatus;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ type: 'timestamptz', nullable: true })
  nextAttemptAt!: Date | null;

  @Column({ type: 'integer', nullable: true })
  lastResponseStatus!: number | null;

  /** Why the last attempt failed: timeout, connection, redirect, refused…, never a stack. */
  @Column({ type: 'varchar', length: 500, nullable: true })
  lastError!: string | null;

  /** The first bytes (at most 256) of the last response body; the rest is never read. */
  @Column({ type: 'varchar', length: 256, nullable: true })
  lastBodyExcerpt!: string | null;

  @Column({ type: 'bigint', nullable: true })
  jobId!: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', nullable: true })
  lastAttemptAt!: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  deliveredAt!: Date | null;
}
