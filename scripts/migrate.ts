import 'reflect-metadata';

import { loadConfigOrExit, resolveDatabase } from '@gatehouse/http';
import { migrateDatabase, revertLastMigration } from '@gatehouse/persistence';

import { withDataSource } from './migration-runner.js';
import { runScript } from './script-context.js';

/** `npm run migration:run` applies pending migrations; `npm run migration:revert` undoes the last one. */
const revert = process.argv.includes('--revert');
const name = revert ? 'migration:revert' : 'migration:run';
await runScript(name, async () => {
  const { config, embedded } = await resolveDatabase(loadConfigOrExit(), {
    owner: name,
    joinRunning: true,
  });
  try {
    await withDataSource(config.database.url ?? '', async (dataSource) => {
      if (revert) {
        await revertLastMigration(dataSource);
        process.stdout.write('Reverted the last migration.\n');
      } else {
        const applied = await migrateDatabase(dataSource);
        const names = applied.map((migration) => migration.name).join(', ');
        process.stdout.write(applied.length ? `Applied: ${names}\n` : 'No pending migrations.\n');
      }
    });
  } finally {
    await embedded?.stop();
  }
});
