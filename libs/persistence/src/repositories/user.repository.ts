import type { EntityManager } from 'typeorm';

import { User } from '../entities/user.entity.js';
import { updateReturning } from './returning.js';

const USER_COLUMNS = `id, email, password_hash AS "passwordHash", roles, disabled_at AS "disabledAt",
  email_verified_at AS "emailVerifiedAt", created_at AS "createdAt"`;

/** Keyset position in the operators' listing; `at` is PostgreSQL's exact text of `created_at`. */
export interface UserCursor {
  readonly at: string;
  readonly id: string;
}

/** A user as operators list it, with its keyset position. */
export interface UserListRow extends User {
  /** `created_at` as exact text, for the next page's cursor. */
  readonly position: string;
}

export interface NewUser {
  readonly email: string;
  /** Null: a user created by federation, who signs in upstream until they set a password. */
  readonly passwordHash: string | null;
  readonly roles?: readonly string[];
}

export class UserRepository {
  constructor(private readonly manager: EntityManager) {}

  /** Inserts the user unless the (normalised) email is taken; returns null when it is. */
  async createUnlessEmailTaken(user: NewUser): Promise<User | null> {
    const rows: Partial<User>[] = await this.manager.query(
      `INSERT INTO users (email, password_hash, roles) VALUES ($1, $2, $3)
       ON CONFLICT ON CONSTRAINT users_email_key DO NOTHING
       RETURNING ${USER_COLUMNS}`,
      [user.email, user.passwordHash, user.roles ?? []],
    );
    return rows[0] ? this.manager.create(User, rows[0]) : null;
  }

  findById(id: string): Promise<User | null> {
    return this.manager.findOneBy(User, { id });
  }

  findByEmail(email: string): Promise<User | null> {
    return this.manager.findOneBy(User, { email });
  }

  /** The user, locked until the transaction ends: serialises that user's account changes. */
  async lockById(id: string): Promise<User | null> {
    const rows: Partial<User>[] = await this.manager.query(
      `SELECT ${USER_COLUMNS} FROM users WHERE id = $1 FOR UPDATE`,
      [id],
    );
    return rows[0] ? this.manager.create(User, rows[0]) : null;
  }

  /**
   * Marks the address verified at `at` (an earlier date is kept), only while it is still `email` when
   * given: a link to an address the account no longer has proves nothing. False when nothing matched.
   */
  async markEmailVerified(id: string, at: Date, email?: string): Promise<boolean> {
    const rows = await updateReturning(
      this.manager,
      `UPDATE users SET email_verified_at = coalesce(email_verified_at, $2)
       WHERE id = $1 AND ($3::varchar IS NULL OR email = $3) RETURNING id`,
      [id, at, email ?? null],
    );
    return rows.length > 0;
  }

  /**
   * A confirmed change: the new address, verified at `at`. Throws the unique violation of
   * `users_email_key` when another account took the address meanwhile.
   */
  async changeEmail(id: string, email: string, at: Date): Promise<boolean> {
    const rows = await updateReturning(
      this.manager,
      'UPDATE users SET email = $2, email_verified_at = $3 WHERE id = $1 RETURNING id',
      [id, email, at],
    );
    return rows.length > 0;
  }

  async existsWithRole(role: string): Promise<boolean> {
    const rows: unknown[] = await this.manager.query(
      'SELECT 1 FROM users WHERE $1 = ANY(roles) LIMIT 1',
      [role],
    );
    return rows.length > 0;
  }

  async addRole(id: string, role: string): Promise<void> {
    await this.manager.query(
      'UPDATE users SET roles = array_append(roles, $2) WHERE id = $1 AND NOT ($2 = ANY(roles))',
      [id, role],
    );
  }

  async updatePasswordHash(id: string, passwordHash: string): Promise<void> {
    await this.manager.query('UPDATE users SET password_hash = $2 WHERE id = $1', [
      id,
      passwordHash,
    ]);
  }

  /**
   * Operators' listing, newest first, `limit + 1` rows from after `cursor` (one more tells whether a
   * next page exists); with `emailPrefix`, only emails equal to it or starting with it.
   */
  listPage(
    emailPrefix: string | undefined,
    cursor: UserCursor | null,
    limit: number,
  ): Promise<UserListRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    if (emailPrefix !== undefined) {
      const prefix = param(emailPrefix);
      where.push(`email >= ${prefix} AND email < ${prefix} || chr(1114111)`);
    }
    if (cursor) {
      where.push(
        `(created_at, id) < (${param(cursor.at)}::timestamptz, ${param(cursor.id)}::uuid)`,
      );
    }
    return this.manager.query(
      `SELECT ${USER_COLUMNS}, created_at::text AS position FROM users
       ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at DESC, id DESC
       LIMIT ${param(limit + 1)}`,
      params,
    );
  }

  async setRoles(id: string, roles: readonly string[]): Promise<boolean> {
    const rows = await updateReturning(
      this.manager,
      'UPDATE users SET roles = $2 WHERE id = $1 RETURNING id',
      [id, roles],
    );
    return rows.length > 0;
  }

  /** Disables (a date) or enables (null) the account; false when there is no such user. */
  async setDisabledAt(id: string, disabledAt: Date | null): Promise<boolean> {
    const rows = await updateReturning(
      this.manager,
      'UPDATE users SET disabled_at = $2 WHERE id = $1 RETURNING id',
      [id, disabledAt],
    );
    return rows.length > 0;
  }
}
