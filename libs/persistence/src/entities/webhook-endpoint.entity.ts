import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/**
 * A URL that receives signed events (Standard Webhooks), registered by an operator at
 * `POST /admin/webhooks`. Its signing secrets are AES-256-GCM sealed under `KEY_ENCRYPTION_KEY`:
 * the current one, and during a rotation the previous one, which signs too until it expires.
 */
@Entity('webhook_endpoints')
export class WebhookEndpoint {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'webhook_endpoints_pkey' })
  id!: string;

  @Column({ type: 'text' })
  url!: string;

  @Column({ type: 'varchar', length: 500, nullable: true })
  description!: string | null;

  @Column({ type: 'text', array: true })
  eventTypes!: string[];

  @Column({ type: 'boolean', default: true })
  enabled!: boolean;

  /** Why it was disabled: by an operator, or automatically after failing for too long. */
  @Column({ type: 'varchar', length: 500, nullable: true })
  disabledReason!: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  disabledAt!: Date | null;

  @Column({ type: 'bytea' })
  secretSealed!: Buffer;

  @Column({ type: 'bytea', nullable: true })
  previousSecretSealed!: Buffer | null;

  @Column({ type: 'timestamptz', nullable: true })
  previousSecretExpiresAt!: Date | null;

  /** The first failed attempt since the last success; null while deliveries succeed. */
  @Column({ type: 'timestamptz', nullable: true })
  failingSince!: Date | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
