import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** Append-only audit log; a trigger in the migration refuses UPDATE and DELETE. */
@Entity('audit_events')
@Index('audit_events_at_id_idx', ['at', 'id'])
@Index('audit_events_actor_at_idx', ['actor', 'at'])
@Index('audit_events_subject_at_idx', ['subject', 'at'])
export class AuditEvent {
  @PrimaryGeneratedColumn('identity', {
    type: 'bigint',
    generatedIdentity: 'ALWAYS',
    primaryKeyConstraintName: 'audit_events_pkey',
  })
  id!: string;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  at!: Date;

  /** `user:<id>`, `client:<id>`, `system` … */
  @Column({ type: 'varchar', length: 200 })
  actor!: string;

  @Column({ type: 'varchar', length: 64 })
  action!: string;

  @Column({ type: 'varchar', length: 200, nullable: true })
  subject!: string | null;

  @Column({ type: 'inet', nullable: true })
  ip!: string | null;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  details!: Record<string, unknown>;
}
