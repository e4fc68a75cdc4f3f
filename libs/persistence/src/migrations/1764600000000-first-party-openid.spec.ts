import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { freshDatabaseUrl } from '../../../../test/support/test-database.js';
import { dataSourceOptions } from '../data-source-options.js';
import { FirstPartyOpenid1764600000000 } from './1764600000000-first-party-openid.js';
import { migrations } from './index.js';

const BEFORE = migrations.slice(0, migrations.indexOf(FirstPartyOpenid1764600000000));
/** Up to this one only, so that reverting the last migration reverts this one. */
const UP_TO = [...BEFORE, FirstPartyOpenid1764600000000];

/** The database as the previous release left it, with rows start-up and operators had written. */
describe(FirstPartyOpenid1764600000000.name, () => {
  let dataSource: DataSource;

  const scopesOf = async (id: string) =>
    (
      await dataSource.query<{ scopes: string[] }[]>('SELECT scopes FROM clients WHERE id = $1', [
        id,
      ])
    )[0]!.scopes;

  beforeAll(async () => {
    const url = await freshDatabaseUrl('first_party_openid', { migrated: false });
    dataSource = await new DataSource({
      ...dataSourceOptions({ url, poolSize: 2 }),
      migrations: BEFORE,
    }).initialize();
    await dataSource.runMigrations({ transaction: 'all' });
    await dataSource.query(
      `INSERT INTO clients (id, name, secret_hash, grant_types, scopes, first_party) VALUES
         ('acme-apps', 'Gatehouse first-party apps', NULL, '{password,refresh_token}', '{account,admin}', true),
         ('operator-made', 'Back office', NULL, '{authorization_code}', '{account,admin}', true),
         ('third-party', 'Gatehouse first-party apps', NULL, '{authorization_code}', '{notes:read}', false)`,
    );
    await dataSource.destroy();
    dataSource = await new DataSource({
      ...dataSourceOptions({ url, poolSize: 2 }),
      migrations: UP_TO,
    }).initialize();
    await dataSource.runMigrations({ transaction: 'all' });
  });
  afterAll(() => dataSource.destroy());

  it('registers the start-up client, whatever its id, with openid email offline_access first', async () => {
    expect(await scopesOf('acme-apps')).toEqual([
      'openid',
      'email',
      'offline_access',
      'account',
      'admin',
    ]);
  });

  it('leaves other clients, first-party or not, as they were', async () => {
    expect(await scopesOf('operator-made')).toEqual(['account', 'admin']);
    expect(await scopesOf('third-party')).toEqual(['notes:read']);
  });

  it('takes the three scopes away again on revert', async () => {
    await dataSource.undoLastMigration({ transaction: 'all' });
    try {
      expect(await scopesOf('acme-apps')).toEqual(['account', 'admin']);
    } finally {
      await dataSource.runMigrations({ transaction: 'all' });
    }
  });
});
