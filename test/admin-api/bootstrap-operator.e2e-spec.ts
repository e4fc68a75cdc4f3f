import { UserService } from '@gatehouse/identity';
import { Database } from '@gatehouse/persistence';
import { describe, expect, it } from 'vitest';

import { STRONG_PASSWORD, uniqueEmail } from '../support/factories.js';
import { givenAdminApi, givenAuthApi } from '../support/test-app.js';
import { freshDatabaseUrl } from '../support/test-database.js';

/**
 * The bootstrap only acts when no user has the admin role; this worker's database is shared by other
 * files, so each case runs on a fresh migrated database.
 */
async function freshDatabaseEnv(): Promise<Record<string, string>> {
  return { DATABASE_URL: await freshDatabaseUrl('operator', { migrated: true }) };
}

describe('admin-api first operator (ADMIN_EMAIL / ADMIN_PASSWORD)', () => {
  it('creates the operator with the admin role at start when no admin exists, once', async () => {
    const env = {
      ...(await freshDatabaseEnv()),
      ADMIN_EMAIL: uniqueEmail('ops'),
      ADMIN_PASSWORD: STRONG_PASSWORD,
    };
    const first = await givenAdminApi(env);
    const second = await givenAdminApi(env);
    try {
      const operator = await first.get(Database).users.findByEmail(env.ADMIN_EMAIL);
      expect(operator?.roles).toEqual(['admin']);
      expect(operator?.passwordHash).toMatch(/^\$argon2id\$/);
      const events = await first.get(Database).auditEvents.listForSubject(`user:${operator?.id}`);
      expect(events.map((event) => event.action)).toEqual(['operator.bootstrapped']);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it('bootstraps exactly one operator when several instances start together', async () => {
    const database = await freshDatabaseEnv();
    const emails = [uniqueEmail('ops-a'), uniqueEmail('ops-b'), uniqueEmail('ops-c')];
    const apps = await Promise.all(
      emails.map((email) =>
        givenAdminApi({ ...database, ADMIN_EMAIL: email, ADMIN_PASSWORD: STRONG_PASSWORD }),
      ),
    );
    try {
      const users = apps[0]!.get(Database).users;
      const admins = await Promise.all(emails.map((email) => users.findByEmail(email)));
      expect(admins.filter((user) => user?.roles.includes('admin'))).toHaveLength(1);
    } finally {
      await Promise.all(apps.map((app) => app.close()));
    }
  });

  it('does nothing when an admin already exists', async () => {
    const database = await freshDatabaseEnv();
    const firstEmail = uniqueEmail('ops');
    const first = await givenAdminApi({
      ...database,
      ADMIN_EMAIL: firstEmail,
      ADMIN_PASSWORD: STRONG_PASSWORD,
    });
    await first.close();
    const laterEmail = uniqueEmail('ops-later');
    const later = await givenAdminApi({
      ...database,
      ADMIN_EMAIL: laterEmail,
      ADMIN_PASSWORD: STRONG_PASSWORD,
    });
    try {
      expect(await later.get(Database).users.findByEmail(laterEmail)).toBeNull();
    } finally {
      await later.close();
    }
  });

  it('refuses to promote an account registered under ADMIN_EMAIL with another password', async () => {
    const database = await freshDatabaseEnv();
    const email = uniqueEmail('squatter');
    const authApi = await givenAuthApi(database);
    await authApi.get(UserService).register({ email, password: 'a different passphrase' });
    await authApi.close();
    await expect(
      givenAdminApi({ ...database, ADMIN_EMAIL: email, ADMIN_PASSWORD: STRONG_PASSWORD }),
    ).rejects.toThrow(
      'ADMIN_EMAIL belongs to an existing account whose password is not ADMIN_PASSWORD',
    );
  });
});
