import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { freshDatabaseUrl } from '../../../test/support/test-database.js';
import { dataSourceOptions } from './data-source-options.js';
import { migrateDatabase } from './migrate-database.js';
import { migrations } from './migrations/index.js';

const TABLES = [
  'audit_events',
  'authorization_codes',
  'clients',
  'consents',
  'device_authorizations',
  'email_verifications',
  'federated_identities',
  'federation_states',
  'identity_providers',
  'logout_deliveries',
  'mail_messages',
  'mfa_challenges',
  'mfa_factors',
  'mfa_recovery_codes',
  'migrations',
  'password_resets',
  'refresh_tokens',
  'revocations',
  'saml_assertion_ids',
  'sessions',
  'signing_keys',
  'users',
  'webauthn_challenges',
  'webauthn_credentials',
  'webhook_deliveries',
  'webhook_endpoints',
];

const open = (url: string) => new DataSource(dataSourceOptions({ url, poolSize: 4 })).initialize();

describe('schema migrations', () => {
  let url: string;
  let dataSource: DataSource;

  beforeAll(async () => {
    url = await freshDatabaseUrl('schema', { migrated: false });
    dataSource = await open(url);
  });
  afterAll(() => dataSource.destroy());

  it('migrate an empty database once even when several processes start together', async () => {
    const others = await Promise.all([open(url), open(url)]);
    try {
      const applied = await Promise.all(
        [dataSource, ...others].map((source) => migrateDatabase(source)),
      );
      expect(applied.map((done) => done.length).sort()).toEqual([0, 0, migrations.length]);
    } finally {
      await Promise.all(others.map((source) => source.destroy()));
    }
  });

  it('create every table of the design', async () => {
    const rows: { table_name: string }[] = await dataSource.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    expect(rows.map((row) => row.table_name)).toEqual(TABLES);
  });

  it("install the job queue's schema, so the first enqueue finds it", async () => {
    const rows: { name: string }[] = await dataSource.query(
      `SELECT p.proname AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = 'graphile_worker' AND p.proname = 'add_job'`,
    );
    expect(rows).toEqual([{ name: 'add_job' }]);
  });

  it('find nothing to do the second time', async () => {
    expect(await migrateDatabase(dataSource)).toEqual([]);
  });

  it('match the entities exactly (no drift between entities and migrations)', async () => {
    const pending = await dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((query) => query.query)).toEqual([]);
  });

  it('name the indexes the hot paths rely on', async () => {
    const rows: { indexname: string }[] = await dataSource.query(
      `SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname`,
    );
    expect(rows.map((row) => row.indexname)).toEqual(
      expect.arrayContaining([
        'sessions_token_hash_key',
        'sessions_user_id_created_at_idx',
        'sessions_created_at_id_idx',
        'refresh_tokens_token_hash_key',
        'refresh_tokens_parent_id_idx',
        'signing_keys_status_single_idx',
        'revocations_until_idx',
        'users_email_key',
        'audit_events_at_id_idx',
      ]),
    );
  });

  it('keep the audit log append-only', async () => {
    await dataSource.query(
      `INSERT INTO audit_events (actor, action) VALUES ('system', 'test.append')`,
    );
    await expect(
      dataSource.query(`UPDATE audit_events SET actor = 'someone else'`),
    ).rejects.toThrow('audit_events is append-only');
    await expect(dataSource.query(`DELETE FROM audit_events`)).rejects.toThrow(
      'audit_events is append-only',
    );
  });

  it('refuse an email that is not lower-case', async () => {
    await expect(
      dataSource.query(
        `INSERT INTO users (email, password_hash) VALUES ('Mixed@Example.com', 'x')`,
      ),
    ).rejects.toThrow('users_email_lowercase_check');
  });
});
