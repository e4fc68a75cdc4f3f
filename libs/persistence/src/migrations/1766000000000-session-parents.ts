import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Which browser (cookie) session a token session was obtained through: the sign-in that approved
 * the authorization code or the device. Ending the browser session ends its token sessions (except
 * offline access), so every app signed in through it gets a back-channel logout token. The code and
 * the device approval carry the browser session until redemption; a deleted session leaves its
 * children parentless rather than deleting them.
 */
export class SessionParents1766000000000 implements MigrationInterface {
  name = 'SessionParents1766000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE "sessions" ADD "parent_session_id" uuid`);
    await db.query(`ALTER TABLE "sessions" ADD CONSTRAINT "sessions_parent_session_id_fkey"
      FOREIGN KEY ("parent_session_id") REFERENCES "sessions"("id")
      ON DELETE SET NULL ON UPDATE NO ACTION`);
    await db.query(`CREATE INDEX "sessions_parent_session_id_idx" ON "sessions" ("parent_session_id")
      WHERE "parent_session_id" IS NOT NULL`);
    await db.query(`ALTER TABLE "authorization_codes" ADD "browser_session_id" uuid`);
    await db.query(`ALTER TABLE "authorization_codes" ADD CONSTRAINT "authorization_codes_browser_session_id_fkey"
      FOREIGN KEY ("browser_session_id") REFERENCES "sessions"("id")
      ON DELETE SET NULL ON UPDATE NO ACTION`);
    await db.query(`ALTER TABLE "device_authorizations" ADD "browser_session_id" uuid`);
    await db.query(`ALTER TABLE "device_authorizations" ADD CONSTRAINT "device_authorizations_browser_session_id_fkey"
      FOREIGN KEY ("browser_session_id") REFERENCES "sessions"("id")
      ON DELETE SET NULL ON UPDATE NO ACTION`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE "device_authorizations" DROP COLUMN "browser_session_id"`);
    await db.query(`ALTER TABLE "authorization_codes" DROP COLUMN "browser_session_id"`);
    await db.query(`DROP INDEX "sessions_parent_session_id_idx"`);
    await db.query(`ALTER TABLE "sessions" DROP COLUMN "parent_session_id"`);
  }
}
