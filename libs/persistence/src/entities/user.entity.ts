import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  PrimaryGeneratedColumn,
  Unique,
} from 'typeorm';

@Entity('users')
@Unique('users_email_key', ['email'])
// Emails are stored trimmed and lower-cased, so the unique key is case-insensitive by construction.
@Check('users_email_lowercase_check', `"email" = lower("email")`)
// Operators' listing, newest first (keyset pagination).
@Index('users_created_at_id_idx', ['createdAt', 'id'])
export class User {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'users_pkey' })
  id!: string;

  @Column({ type: 'varchar', length: 254 })
  email!: string;

  /** argon2id PHC string; null for a user created by federation who never set a password. */
  @Column({ type: 'text', nullable: true })
  passwordHash!: string | null;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  roles!: string[];

  @Column({ type: 'timestamptz', nullable: true })
  disabledAt!: Date | null;

  /** When the user proved the address is theirs (a link, or an operator); null: unverified. */
  @Column({ type: 'timestamptz', nullable: true })
  emailVerifiedAt!: Date | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
