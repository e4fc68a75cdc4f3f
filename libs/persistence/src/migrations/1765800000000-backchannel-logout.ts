import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * OpenID Connect Back-Channel Logout 1.0: where a client wants its logout tokens, and one row per
 * logout token to deliver (written in the transaction that ends the session, with its
 * graphile-worker job). A delivery keeps the client, session and URI it was made for, without
 * foreign keys: it outlives a deleted client (whose deletion is one of the reasons it exists) and the
 * housekeeping of ended sessions.
 */
export class BackchannelLogout1765800000000 implements MigrationInterface {
  name = 'BackchannelLogout1765800000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE "clients" ADD "backchannel_logout_uri" text`);
    await db.query(
      `ALTER TABLE "clients" ADD "backchannel_logout_session_required" boolean NOT NULL DEFAULT false`,
    );
    await db.query(`CREATE TABLE "logout_deliveries" (
      "id" uuid NOT NULL,
      "client_id" character varying(128) NOT NULL,
      "session_id" uuid NOT NULL,
      "user_id" uuid NOT NULL,
      "uri" text NOT NULL,
      "reason" character varying(64) NOT NULL,
      "status" character varying(16) NOT NULL DEFAULT 'queued',
      "attempts" integer NOT NULL DEFAULT 0,
      "last_error" character varying(500),
      "last_response_status" integer,
      "job_id" bigint,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "last_attempt_at" TIMESTAMP WITH TIME ZONE,
      "delivered_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "logout_deliveries_status_check" CHECK ("status" IN ('queued', 'delivered', 'failed', 'dead', 'refused')),
      CONSTRAINT "logout_deliveries_pkey" PRIMARY KEY ("id")
    )`);
    await db.query(
      `CREATE INDEX "logout_deliveries_client_id_created_at_id_idx" ON "logout_deliveries" ("client_id", "created_at", "id")`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE "logout_deliveries"`);
    await db.query(`ALTER TABLE "clients" DROP COLUMN "backchannel_logout_session_required"`);
    await db.query(`ALTER TABLE "clients" DROP COLUMN "backchannel_logout_uri"`);
  }
}
