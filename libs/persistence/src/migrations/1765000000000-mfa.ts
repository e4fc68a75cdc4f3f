import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Second factors (TOTP, secrets sealed under the key-encryption key), recovery codes (SHA-256 only),
 * the pending second step of a sign-in (SHA-256 of its token), and on sessions how and when the
 * user signed in (`amr`, RFC 8176; `auth_time`). Existing sessions were password sign-ins.
 */
export class Mfa1765000000000 implements MigrationInterface {
  name = 'Mfa1765000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE TABLE "mfa_factors" (
      "id" uuid NOT NULL,
      "user_id" uuid NOT NULL,
      "kind" character varying(16) NOT NULL,
      "secret_sealed" bytea NOT NULL,
      "last_used_step" bigint,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "confirmed_at" TIMESTAMP WITH TIME ZONE,
      "last_used_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "mfa_factors_kind_check" CHECK ("kind" IN ('totp')),
      CONSTRAINT "mfa_factors_pkey" PRIMARY KEY ("id"),
      CONSTRAINT "mfa_factors_user_id_fkey" FOREIGN KEY ("user_id")
        REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION
    )`);
    await db.query(`CREATE INDEX "mfa_factors_user_id_idx" ON "mfa_factors" ("user_id")`);
    await db.query(`CREATE TABLE "mfa_recovery_codes" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "user_id" uuid NOT NULL,
      "code_hash" bytea NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "used_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "mfa_recovery_codes_pkey" PRIMARY KEY ("id"),
      CONSTRAINT "mfa_recovery_codes_user_id_fkey" FOREIGN KEY ("user_id")
        REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION
    )`);
    await db.query(
      `CREATE UNIQUE INDEX "mfa_recovery_codes_user_id_code_hash_key" ON "mfa_recovery_codes" ("user_id", "code_hash")`,
    );
    await db.query(`CREATE TABLE "mfa_challenges" (
      "token_hash" bytea NOT NULL,
      "user_id" uuid NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      CONSTRAINT "mfa_challenges_pkey" PRIMARY KEY ("token_hash"),
      CONSTRAINT "mfa_challenges_user_id_fkey" FOREIGN KEY ("user_id")
        REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION
    )`);
    await db.query(`CREATE INDEX "mfa_challenges_user_id_idx" ON "mfa_challenges" ("user_id")`);
    await db.query(`ALTER TABLE "sessions" ADD "amr" text array`);
    await db.query(`ALTER TABLE "sessions" ADD "auth_time" TIMESTAMP WITH TIME ZONE`);
    await db.query(`UPDATE "sessions" SET "amr" = '{pwd}', "auth_time" = "created_at"`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE "sessions" DROP COLUMN "auth_time"`);
    await db.query(`ALTER TABLE "sessions" DROP COLUMN "amr"`);
    await db.query(`DROP TABLE "mfa_challenges"`);
    await db.query(`DROP TABLE "mfa_recovery_codes"`);
    await db.query(`DROP TABLE "mfa_factors"`);
  }
}
