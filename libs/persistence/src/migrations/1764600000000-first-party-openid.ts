import type { MigrationInterface, QueryRunner } from 'typeorm';

const OPENID_CONNECT_SCOPES = ['openid', 'email', 'offline_access'];

/**
 * The platform's first-party client speaks OpenID Connect: it is registered with `openid email
 * offline_access` beside the reserved `account admin`. Migrations do not read FIRST_PARTY_CLIENT_ID,
 * so the row is the one start-up creates, whatever its id: first-party, public and named as
 * start-up names it (admin-api could not edit that client until now).
 */
export class FirstPartyOpenid1764600000000 implements MigrationInterface {
  name = 'FirstPartyOpenid1764600000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(
      `UPDATE "clients"
       SET "scopes" = $1::text[]
         || ARRAY(SELECT s FROM unnest("scopes") WITH ORDINALITY AS t(s, n)
                  WHERE s <> ALL ($1::text[]) ORDER BY n)
       WHERE "first_party" AND "secret_hash" IS NULL AND "name" = 'Gatehouse first-party apps'`,
      [OPENID_CONNECT_SCOPES],
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(
      `UPDATE "clients"
       SET "scopes" = ARRAY(SELECT s FROM unnest("scopes") WITH ORDINALITY AS t(s, n)
                            WHERE s <> ALL ($1::text[]) ORDER BY n)
       WHERE "first_party" AND "secret_hash" IS NULL AND "name" = 'Gatehouse first-party apps'`,
      [OPENID_CONNECT_SCOPES],
    );
  }
}
