import type { MigrationInterface, QueryRunner } from 'typeorm';

const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';

/** Issue #8, second part: the device authorization grant (RFC 8628) and RP-initiated logout. */
export class DeviceAndLogout1764200000000 implements MigrationInterface {
  name = 'DeviceAndLogout1764200000000';

  async up(db: QueryRunner): Promise<void> {
    // The platform's own CLI signs in with the device grant (npm run example:device-login).
    await db.query(
      `UPDATE "clients" SET "grant_types" = array_append("grant_types", '${DEVICE_CODE}')
       WHERE "first_party" AND NOT ('${DEVICE_CODE}' = ANY ("grant_types"))`,
    );
    await db.query(
      `ALTER TABLE "clients" ADD "post_logout_redirect_uris" text array NOT NULL DEFAULT '{}'`,
    );
    await db.query(
      `CREATE TABLE "device_authorizations" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "device_code_hash" bytea NOT NULL,
        "user_code_hash" bytea NOT NULL,
        "client_id" character varying(128) NOT NULL,
        "scope" text NOT NULL,
        "status" character varying(16) NOT NULL DEFAULT 'pending',
        "interval_seconds" integer NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "last_polled_at" TIMESTAMP WITH TIME ZONE,
        "user_id" uuid,
        "auth_time" TIMESTAMP WITH TIME ZONE,
        "decided_at" TIMESTAMP WITH TIME ZONE,
        "token_session_id" uuid,
        CONSTRAINT "device_authorizations_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "device_authorizations_status_check"
          CHECK ("status" IN ('pending', 'approved', 'denied', 'redeemed')),
        CONSTRAINT "device_authorizations_decision_check"
          CHECK ("status" IN ('pending', 'denied') OR "user_id" IS NOT NULL),
        CONSTRAINT "device_authorizations_client_id_fkey" FOREIGN KEY ("client_id")
          REFERENCES "clients"("id") ON DELETE CASCADE ON UPDATE NO ACTION,
        CONSTRAINT "device_authorizations_user_id_fkey" FOREIGN KEY ("user_id")
          REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION,
        CONSTRAINT "device_authorizations_token_session_id_fkey" FOREIGN KEY ("token_session_id")
          REFERENCES "sessions"("id") ON DELETE SET NULL ON UPDATE NO ACTION
      )`,
    );
    await db.query(
      `CREATE UNIQUE INDEX "device_authorizations_device_code_hash_key" ON "device_authorizations" ("device_code_hash")`,
    );
    await db.query(
      `CREATE UNIQUE INDEX "device_authorizations_user_code_hash_key" ON "device_authorizations" ("user_code_hash")`,
    );
    await db.query(
      `CREATE INDEX "device_authorizations_expires_at_idx" ON "device_authorizations" ("expires_at")`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(
      `UPDATE "clients" SET "grant_types" = array_remove("grant_types", '${DEVICE_CODE}')`,
    );
    await db.query(`DROP TABLE "device_authorizations"`);
    await db.query(`ALTER TABLE "clients" DROP COLUMN "post_logout_redirect_uris"`);
  }
}
