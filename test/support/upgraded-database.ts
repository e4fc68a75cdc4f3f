import { DataSource } from 'typeorm';

import { dataSourceOptions } from '../../libs/persistence/src/data-source-options.js';
import { migrations } from '../../libs/persistence/src/migrations/index.js';
import { freshDatabaseUrl } from './test-database.js';

/**
 * For a migration that changes data: a fresh database migrated as the previous release left it,
 * `seed` run on it (the rows earlier versions wrote), then migrated through `migration` only, so
 * that `undoLastMigration` reverts exactly that one. The caller destroys the data source.
 */
export async function upgradedDatabase(
  migration: (typeof migrations)[number],
  name: string,
  seed: (dataSource: DataSource) => Promise<unknown>,
): Promise<DataSource> {
  const through = migrations.indexOf(migration);
  if (through < 0) {
    throw new Error(`${migration.name} is not in the migrations list`);
  }
  const url = await freshDatabaseUrl(name, { migrated: false });
  const migrated = async (upTo: number) => {
    const dataSource = await new DataSource({
      ...dataSourceOptions({ url, poolSize: 2 }),
      migrations: migrations.slice(0, upTo),
    }).initialize();
    await dataSource.runMigrations({ transaction: 'all' });
    return dataSource;
  };
  const previous = await migrated(through);
  try {
    await seed(previous);
  } finally {
    await previous.destroy();
  }
  return migrated(through + 1);
}
