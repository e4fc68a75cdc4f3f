import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { upgradedDatabase } from '../../../../test/support/upgraded-database.js';
import { FirstPartyOpenid1764600000000 } from './1764600000000-first-party-openid.js';

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
    dataSource = await upgradedDatabase(FirstPartyOpenid1764600000000, 'first_party_openid', (db) =>
      db.query(
        `INSERT INTO clients (id, name, secret_hash, grant_types, scopes, first_party) VALUES
           ('acme-apps', 'Gatehouse first-party apps', NULL, '{password,refresh_token}', '{account,admin}', true),
           ('operator-made', 'Back office', NULL, '{authorization_code}', '{account,admin}', true),
           ('third-party', 'Gatehouse first-party apps', NULL, '{authorization_code}', '{notes:read}', false)`,
      ),
    );
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
