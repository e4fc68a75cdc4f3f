import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Authorization boundaries: resource servers are the only clients that may introspect, the
 * first-party client holds the reserved scopes `account` (the /me routes) and `admin` (admin-api),
 * and the revocation feed can end a client's own (client-credentials) tokens.
 */
export class AuthorizationBoundaries1764400000000 implements MigrationInterface {
  name = 'AuthorizationBoundaries1764400000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE "clients" ADD "resource_server" boolean NOT NULL DEFAULT false`);
    // RFC 8707: a resource server's resource indicator, the `aud` of tokens minted for it.
    await db.query(`ALTER TABLE "clients" ADD "audience" character varying(512)`);
    await db.query(
      `CREATE UNIQUE INDEX "clients_audience_key" ON "clients" ("audience") WHERE "audience" IS NOT NULL`,
    );
    await db.query(
      `ALTER TABLE "authorization_codes" ADD "resources" text array NOT NULL DEFAULT '{}'`,
    );
    // Secure by default: no existing client keeps the power to introspect until an operator flags
    // it as a resource server (admin-api `resourceServer: true`).
    // Reserved scopes were never grantable to third parties; strip them where they were registered.
    await db.query(
      `UPDATE "clients" SET "scopes" = array_remove(array_remove("scopes", 'account'), 'admin')
       WHERE NOT "first_party"`,
    );
    await db.query(
      `UPDATE "clients" SET "scopes" = ARRAY(SELECT DISTINCT unnest("scopes" || '{account,admin}'))
       WHERE "first_party"`,
    );
    // No foreign key: the row must outlive the client it revokes (a deleted client's tokens).
    await db.query(`ALTER TABLE "revocations" ADD "client_id" character varying(128)`);
    await db.query(`ALTER TABLE "revocations" DROP CONSTRAINT "revocations_target_check"`);
    await db.query(
      `ALTER TABLE "revocations" ADD CONSTRAINT "revocations_target_check"
       CHECK ("session_id" IS NOT NULL OR "user_id" IS NOT NULL OR "client_id" IS NOT NULL)`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DELETE FROM "revocations" WHERE "session_id" IS NULL AND "user_id" IS NULL`);
    await db.query(`ALTER TABLE "revocations" DROP CONSTRAINT "revocations_target_check"`);
    await db.query(
      `ALTER TABLE "revocations" ADD CONSTRAINT "revocations_target_check"
       CHECK ("session_id" IS NOT NULL OR "user_id" IS NOT NULL)`,
    );
    await db.query(`ALTER TABLE "revocations" DROP COLUMN "client_id"`);
    await db.query(`ALTER TABLE "authorization_codes" DROP COLUMN "resources"`);
    await db.query(`DROP INDEX "clients_audience_key"`);
    await db.query(`ALTER TABLE "clients" DROP COLUMN "audience"`);
    await db.query(
      `UPDATE "clients" SET "scopes" = array_remove(array_remove("scopes", 'account'), 'admin')
       WHERE "first_party"`,
    );
    await db.query(`ALTER TABLE "clients" DROP COLUMN "resource_server"`);
  }
}
