import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Proof that an address belongs to its user: `users.email_verified_at` (existing users start
 * unverified), and the links that prove it — a verification link, or the confirmation of an email
 * change with its cancel link for the old address. Only SHA-256 of each token is kept.
 */
export class EmailVerification1764900000000 implements MigrationInterface {
  name = 'EmailVerification1764900000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE "users" ADD "email_verified_at" TIMESTAMP WITH TIME ZONE`);
    await db.query(`CREATE TABLE "email_verifications" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "user_id" uuid NOT NULL,
      "purpose" character varying(16) NOT NULL,
      "email" character varying(254) NOT NULL,
      "token_hash" bytea NOT NULL,
      "cancel_token_hash" bytea,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "used_at" TIMESTAMP WITH TIME ZONE,
      "voided_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "email_verifications_purpose_check" CHECK ("purpose" IN ('verify', 'change')),
      CONSTRAINT "email_verifications_pkey" PRIMARY KEY ("id"),
      CONSTRAINT "email_verifications_user_id_fkey" FOREIGN KEY ("user_id")
        REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION
    )`);
    await db.query(
      `CREATE UNIQUE INDEX "email_verifications_token_hash_key" ON "email_verifications" ("token_hash")`,
    );
    await db.query(
      `CREATE UNIQUE INDEX "email_verifications_cancel_token_hash_key" ON "email_verifications" ("cancel_token_hash")`,
    );
    await db.query(
      `CREATE INDEX "email_verifications_user_id_created_at_idx" ON "email_verifications" ("user_id", "created_at")`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE "email_verifications"`);
    await db.query(`ALTER TABLE "users" DROP COLUMN "email_verified_at"`);
  }
}
