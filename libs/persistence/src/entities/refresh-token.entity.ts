import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';

import { Session } from './session.entity.js';

/** One generation of a rotating refresh token; its family is its session. */
@Entity('refresh_tokens')
@Index('refresh_tokens_session_id_idx', ['sessionId'])
@Index('refresh_tokens_parent_id_idx', ['parentId'])
export class RefreshToken {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'refresh_tokens_pkey' })
  id!: string;

  @Column({ type: 'uuid' })
  sessionId!: string;

  @ManyToOne(() => Session, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'session_id', foreignKeyConstraintName: 'refresh_tokens_session_id_fkey' })
  session?: Session;

  /** SHA-256 of the opaque token. */
  @Index('refresh_tokens_token_hash_key', { unique: true })
  @Column({ type: 'bytea' })
  tokenHash!: Buffer;

  @Column({ type: 'uuid', nullable: true })
  parentId!: string | null;

  @ManyToOne(() => RefreshToken, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'parent_id', foreignKeyConstraintName: 'refresh_tokens_parent_id_fkey' })
  parent?: RefreshToken;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', nullable: true })
  usedAt!: Date | null;

  /** The address of the request that rotated this token: a grace replay must come from it. */
  @Column({ type: 'inet', nullable: true })
  usedIp!: string | null;

  @Column({ type: 'timestamptz' })
  expiresAt!: Date;

  /**
   * This token, encrypted, while it can answer a replay of its parent within the reuse grace window
   * (a retried request gets the same successor): erased when this token is spent or the window has
   * passed, so nothing usable lingers.
   */
  @Column({ type: 'bytea', nullable: true })
  sealedToken!: Buffer | null;
}
