import { randomUUID } from 'node:crypto';

import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { workerDatabaseUrl } from '../../../../test/support/test-database.js';
import { dataSourceOptions } from '../data-source-options.js';
import { Database } from '../database.js';

describe('JobRepository', () => {
  let dataSource: DataSource;
  let database: Database;

  beforeAll(async () => {
    dataSource = await new DataSource(
      dataSourceOptions({ url: await workerDatabaseUrl(), poolSize: 2 }),
    ).initialize();
    database = new Database(dataSource);
  });
  afterAll(() => dataSource.destroy());

  const jobsWithKey = async (key: string) =>
    dataSource.query<{ id: string; attempts: number; max_attempts: number }[]>(
      `SELECT id::text, attempts, max_attempts FROM graphile_worker.jobs WHERE key = $1`,
      [key],
    );

  it('enqueues inside the transaction: the job exists once it commits', async () => {
    const key = `spec:${randomUUID()}`;
    const id = await database.transaction((repositories) =>
      repositories.jobs.add({ task: 'spec.noop', payload: { n: 1 }, key, maxAttempts: 3 }),
    );
    expect(await jobsWithKey(key)).toEqual([{ id, attempts: 0, max_attempts: 3 }]);
  });

  it('enqueues nothing when the transaction rolls back', async () => {
    const key = `spec:${randomUUID()}`;
    await expect(
      database.transaction(async (repositories) => {
        await repositories.jobs.add({ task: 'spec.noop', payload: {}, key });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await jobsWithKey(key)).toEqual([]);
  });

  it('replaces the pending job of a key instead of adding a second one', async () => {
    const key = `spec:${randomUUID()}`;
    const first = await database.jobs.add({ task: 'spec.noop', payload: { n: 1 }, key });
    const second = await database.jobs.add({ task: 'spec.noop', payload: { n: 2 }, key });
    expect(second).toBe(first);
    expect(await jobsWithKey(key)).toHaveLength(1);
  });
});
