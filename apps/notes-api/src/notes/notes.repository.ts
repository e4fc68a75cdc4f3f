import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import pg from 'pg';

export const NOTES_POOL = Symbol('NOTES_POOL');

export interface Note {
  readonly id: string;
  readonly text: string;
  readonly createdAt: Date;
}

/** notes-api's own table; it knows nothing of Gatehouse's tables. */
@Injectable()
export class NotesRepository implements OnModuleInit, OnApplicationShutdown {
  constructor(@Inject(NOTES_POOL) private readonly pool: pg.Pool) {}

  async onModuleInit(): Promise<void> {
    await this.pool.query(`
      CREATE TABLE IF NOT EXISTS notes (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        owner_id text NOT NULL,
        text varchar(2000) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await this.pool.query(
      'CREATE INDEX IF NOT EXISTS notes_owner_id_created_at_idx ON notes (owner_id, created_at)',
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }

  async create(ownerId: string, text: string): Promise<Note> {
    const { rows } = await this.pool.query<Note>(
      `INSERT INTO notes (owner_id, text) VALUES ($1, $2)
       RETURNING id, text, created_at AS "createdAt"`,
      [ownerId, text],
    );
    return rows[0]!;
  }

  async listForOwner(ownerId: string): Promise<Note[]> {
    const { rows } = await this.pool.query<Note>(
      `SELECT id, text, created_at AS "createdAt" FROM notes WHERE owner_id = $1
       ORDER BY created_at DESC, id DESC LIMIT 100`,
      [ownerId],
    );
    return rows;
  }

  async count(): Promise<number> {
    const { rows } = await this.pool.query<{ count: number }>(
      'SELECT count(*)::int AS count FROM notes',
    );
    return rows[0]!.count;
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.pool.query('DELETE FROM notes WHERE id = $1', [id]);
    return (result.rowCount ?? 0) > 0;
  }
}
