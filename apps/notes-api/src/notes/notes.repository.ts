import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
  ServiceUnavailableException,
} from '@nestjs/common';
import pg from 'pg';

export const NOTES_POOL = Symbol('NOTES_POOL');

export interface Note {
  readonly id: string;
  readonly text: string;
  readonly createdAt: Date;
}

/** SQLSTATE classes and socket errors that mean "PostgreSQL is not reachable right now". */
const UNREACHABLE =
  /^(08|57P0[1-3]|53300)|^E(CONNREFUSED|CONNRESET|HOSTUNREACH|NOTFOUND|TIMEDOUT)$/;

const SCHEMA_RETRY_INITIAL_MS = 250;
const SCHEMA_RETRY_MAX_MS = 10_000;

function isUnreachable(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return (
    (typeof code === 'string' && UNREACHABLE.test(code)) ||
    (typeof message === 'string' &&
      /Connection terminated|timeout exceeded when trying to connect/.test(message))
  );
}

/**
 * notes-api's own table; it knows nothing of Gatehouse's tables. PostgreSQL being down when the app
 * starts does not stop it: the table is created as soon as the database answers (retried with
 * backoff), and until then, or during an outage, the routes answer 503 instead of 500.
 */
@Injectable()
export class NotesRepository implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(NotesRepository.name);
  private schemaReady = false;
  private schemaRetry: NodeJS.Timeout | undefined;
  private schemaRetryDelayMs = SCHEMA_RETRY_INITIAL_MS;
  private schemaAttempt: Promise<boolean> | undefined;
  private closed = false;

  constructor(@Inject(NOTES_POOL) private readonly pool: pg.Pool) {}

  /** Whether the table exists (the database has answered since the app started). */
  get ready(): boolean {
    return this.schemaReady;
  }

  async onModuleInit(): Promise<void> {
    if (!(await this.ensureSchema())) {
      this.logger.warn('PostgreSQL is unreachable; notes-api starts anyway and retries.');
      this.scheduleSchemaRetry();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearTimeout(this.schemaRetry);
    await this.pool.end();
  }

  /** One round trip to the database, for the readiness check. */
  async ping(): Promise<boolean> {
    try {
      await this.pool.query('SELECT 1');
      return this.schemaReady || (await this.ensureSchema());
    } catch {
      return false;
    }
  }

  async create(ownerId: string, text: string): Promise<Note> {
    const { rows } = await this.run<Note>(
      `INSERT INTO notes (owner_id, text) VALUES ($1, $2)
       RETURNING id, text, created_at AS "createdAt"`,
      [ownerId, text],
    );
    return rows[0]!;
  }

  async listForOwner(ownerId: string): Promise<Note[]> {
    const { rows } = await this.run<Note>(
      `SELECT id, text, created_at AS "createdAt" FROM notes WHERE owner_id = $1
       ORDER BY created_at DESC, id DESC LIMIT 100`,
      [ownerId],
    );
    return rows;
  }

  async count(): Promise<number> {
    const { rows } = await this.run<{ count: number }>('SELECT count(*)::int AS count FROM notes');
    return rows[0]!.count;
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.run('DELETE FROM notes WHERE id = $1', [id]);
    return (result.rowCount ?? 0) > 0;
  }

  private async run<Row extends pg.QueryResultRow>(
    sql: string,
    params: unknown[] = [],
  ): Promise<pg.QueryResult<Row>> {
    try {
      if (!this.schemaReady && !(await this.ensureSchema())) {
        throw new Error('Connection terminated: the notes table could not be created yet');
      }
      return await this.pool.query<Row>(sql, params);
    } catch (error) {
      if (isUnreachable(error)) {
        throw new ServiceUnavailableException({
          statusCode: 503,
          error: 'DATABASE_UNAVAILABLE',
          message: 'The database is unreachable. Retry shortly.',
        });
      }
      throw error;
    }
  }

  /** Creates the table if needed (one attempt at a time); false when the database is unreachable. */
  private ensureSchema(): Promise<boolean> {
    this.schemaAttempt ??= this.createSchema().finally(() => {
      this.schemaAttempt = undefined;
    });
    return this.schemaAttempt;
  }

  private async createSchema(): Promise<boolean> {
    try {
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
    } catch (error) {
      if (isUnreachable(error)) {
        return false;
      }
      throw error;
    }
    this.schemaReady = true;
    return true;
  }

  private scheduleSchemaRetry(): void {
    if (this.closed) {
      return;
    }
    const delay = this.schemaRetryDelayMs;
    this.schemaRetryDelayMs = Math.min(delay * 2, SCHEMA_RETRY_MAX_MS);
    this.schemaRetry = setTimeout(() => {
      this.ensureSchema().then(
        (ready) =>
          ready
            ? this.logger.log('PostgreSQL reached: notes table ready')
            : this.scheduleSchemaRetry(),
        (error: unknown) =>
          this.logger.error(`Creating the notes table failed: ${(error as Error).message}`),
      );
    }, delay);
    this.schemaRetry.unref();
  }
}
