import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Operators' listings: the text an operator gives when forcing a session's revocation is kept on the
 * session (beside the reason code `admin`), and users are listed newest first by keyset pagination.
 */
export class AdminListings1764500000000 implements MigrationInterface {
  name = 'AdminListings1764500000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE "sessions" ADD "revoked_note" character varying(200)`);
    await db.query(`CREATE INDEX "users_created_at_id_idx" ON "users" ("created_at", "id")`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX "users_created_at_id_idx"`);
    await db.query(`ALTER TABLE "sessions" DROP COLUMN "revoked_note"`);
  }
}
