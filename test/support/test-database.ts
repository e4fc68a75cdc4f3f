import pg from 'pg';
import { inject } from 'vitest';

export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.href;
}

async function withAdmin<T>(adminUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const DUPLICATE_DATABASE = '42P04';
const OBJECT_IN_USE = '55006';

/**
 * Creates a database on the test server, cloned from `template` when given. Tolerates a database that
 * exists already, and waits its turn when another worker is cloning the same template at that instant.
 */
async function createDatabase(name: string, template?: string): Promise<string> {
  const adminUrl = inject('adminUrl');
  const from = template ? ` TEMPLATE "${template}"` : '';
  await withAdmin(adminUrl, async (client) => {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await client.query(`CREATE DATABASE "${name}"${from}`);
        return;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === DUPLICATE_DATABASE) {
          return;
        }
        if (code !== OBJECT_IN_USE || attempt > 50) {
          throw error;
        }
        await new Promise((wake) => setTimeout(wake, 50 + Math.random() * 100));
      }
    }
  });
  return databaseUrl(adminUrl, name);
}

/**
 * This worker's own database, cloned from the migrated template (milliseconds; no migration per
 * worker). Files running in the same worker share it: tests create their own rows with unique values,
 * so nothing is truncated and order never matters.
 */
export function workerDatabaseUrl(): Promise<string> {
  return createDatabase(
    `${inject('runPrefix')}_w${process.env['VITEST_POOL_ID'] ?? '0'}`,
    inject('templateDatabase'),
  );
}

/**
 * A database of its own for a test that needs a known global state (e.g. "no admin exists yet"):
 * migrated (cloned from the template) or empty. Dropped with the run like every other.
 */
export function freshDatabaseUrl(
  label: string,
  { migrated }: { migrated: boolean },
): Promise<string> {
  const name = `${inject('runPrefix')}_${label}_${Math.random().toString(36).slice(2, 8)}`;
  return createDatabase(name, migrated ? inject('templateDatabase') : undefined);
}

export async function dropDatabasesLike(adminUrl: string, prefix: string): Promise<void> {
  await withAdmin(adminUrl, async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY datname DESC`,
      [`${prefix}%`],
    );
    for (const { datname } of rows) {
      await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
  });
}
