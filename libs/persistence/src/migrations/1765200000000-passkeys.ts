import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Passkeys (WebAuthn credentials): the public key and its signature counter, how the authenticator
 * keeps the key (`device_type`, `backed_up`), and the pending ceremonies: only the SHA-256 of each
 * challenge, bound to a purpose (and to a user but for passwordless sign-in), single use, short-lived.
 */
export class Passkeys1765200000000 implements MigrationInterface {
  name = 'Passkeys1765200000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE TABLE "webauthn_credentials" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "user_id" uuid NOT NULL,
      "credential_id" bytea NOT NULL,
      "public_key" bytea NOT NULL,
      "sign_count" bigint NOT NULL,
      "transports" text array NOT NULL,
      "device_type" character varying(16) NOT NULL,
      "backed_up" boolean NOT NULL,
      "name" character varying(64) NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "last_used_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "webauthn_credentials_device_type_check"
        CHECK ("device_type" IN ('singleDevice', 'multiDevice')),
      CONSTRAINT "webauthn_credentials_credential_id_key" UNIQUE ("credential_id"),
      CONSTRAINT "webauthn_credentials_pkey" PRIMARY KEY ("id"),
      CONSTRAINT "webauthn_credentials_user_id_fkey" FOREIGN KEY ("user_id")
        REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION
    )`);
    await db.query(
      `CREATE INDEX "webauthn_credentials_user_id_idx" ON "webauthn_credentials" ("user_id")`,
    );
    await db.query(`CREATE TABLE "webauthn_challenges" (
      "challenge_hash" bytea NOT NULL,
      "purpose" character varying(16) NOT NULL,
      "user_id" uuid,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      CONSTRAINT "webauthn_challenges_purpose_check"
        CHECK ("purpose" IN ('register', 'sign_in', 'second_factor')),
      CONSTRAINT "webauthn_challenges_pkey" PRIMARY KEY ("challenge_hash"),
      CONSTRAINT "webauthn_challenges_user_id_fkey" FOREIGN KEY ("user_id")
        REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION
    )`);
    await db.query(
      `CREATE INDEX "webauthn_challenges_expires_at_idx" ON "webauthn_challenges" ("expires_at")`,
    );
    await db.query(
      `CREATE INDEX "webauthn_challenges_user_id_idx" ON "webauthn_challenges" ("user_id")`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE "webauthn_challenges"`);
    await db.query(`DROP TABLE "webauthn_credentials"`);
  }
}
