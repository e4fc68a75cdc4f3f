import type { DataSource, Migration } from 'typeorm';

import { installJobQueue } from './job-queue.js';

/** Arbitrary constant shared by every Gatehouse process: "the schema migration lock". */
const MIGRATION_LOCK_KEY = 0x6761_7465; // "gate"

/**
 * Applies pending migrations in one transaction while holding a PostgreSQL advisory lock, so several
 * apps (or replicas) starting at once migrate exactly once and the others wait, then find nothing to do.
 * The job queue's schema (graphile-worker's own migrations) is installed first, under the same lock;
 * the returned list names ours only.
 */
export async function migrateDatabase(dataSource: DataSource): Promise<Migration[]> {
  const lock = dataSource.createQueryRunner();
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await installJobQueue(dataSource);
    return await dataSource.runMigrations({ transaction: 'all' });
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lock.release();
  }
}

export async function revertLastMigration(dataSource: DataSource): Promise<void> {
  await dataSource.undoLastMigration({ transaction: 'all' });
}
