import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Which upstream provider a federated sign-in came through: on the cookie session it started (shown
 * in session listings beside `amr` `fed`), and on the pending second step in between (so the session
 * started after the code knows it too). A provider deleted later leaves its sessions, unnamed.
 */
export class FederatedSessions1765900000000 implements MigrationInterface {
  name = 'FederatedSessions1765900000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE "sessions" ADD "identity_provider_id" uuid`);
    await db.query(`ALTER TABLE "sessions" ADD CONSTRAINT "sessions_identity_provider_id_fkey"
      FOREIGN KEY ("identity_provider_id") REFERENCES "identity_providers"("id")
      ON DELETE SET NULL ON UPDATE NO ACTION`);
    await db.query(`ALTER TABLE "mfa_challenges" ADD "identity_provider_id" uuid`);
    await db.query(`ALTER TABLE "mfa_challenges" ADD CONSTRAINT "mfa_challenges_identity_provider_id_fkey"
      FOREIGN KEY ("identity_provider_id") REFERENCES "identity_providers"("id")
      ON DELETE CASCADE ON UPDATE NO ACTION`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE "mfa_challenges" DROP COLUMN "identity_provider_id"`);
    await db.query(`ALTER TABLE "sessions" DROP COLUMN "identity_provider_id"`);
  }
}
