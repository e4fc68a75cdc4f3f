import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Webhooks (Standard Webhooks): the endpoints operators register, their signing secrets sealed under
 * KEY_ENCRYPTION_KEY (the current one and, during a rotation, the previous one until it expires), and
 * one delivery per event and endpoint, written in the transaction that caused the event together
 * with its graphile-worker job. A delivery's id is its `webhook-id` (`msg_…`), the same on every
 * attempt and replay.
 */
export class Webhooks1765700000000 implements MigrationInterface {
  name = 'Webhooks1765700000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE TABLE "webhook_endpoints" (
      "id" uuid NOT NULL,
      "url" text NOT NULL,
      "description" character varying(500),
      "event_types" text array NOT NULL,
      "enabled" boolean NOT NULL DEFAULT true,
      "disabled_reason" character varying(500),
      "disabled_at" TIMESTAMP WITH TIME ZONE,
      "secret_sealed" bytea NOT NULL,
      "previous_secret_sealed" bytea,
      "previous_secret_expires_at" TIMESTAMP WITH TIME ZONE,
      "failing_since" TIMESTAMP WITH TIME ZONE,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "webhook_endpoints_pkey" PRIMARY KEY ("id")
    )`);
    await db.query(`CREATE TABLE "webhook_deliveries" (
      "id" character varying(64) NOT NULL,
      "endpoint_id" uuid NOT NULL,
      "event_type" character varying(64) NOT NULL,
      "payload" jsonb NOT NULL,
      "status" character varying(16) NOT NULL DEFAULT 'pending',
      "attempts" integer NOT NULL DEFAULT 0,
      "next_attempt_at" TIMESTAMP WITH TIME ZONE,
      "last_response_status" integer,
      "last_error" character varying(500),
      "last_body_excerpt" character varying(256),
      "job_id" bigint,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "last_attempt_at" TIMESTAMP WITH TIME ZONE,
      "delivered_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "webhook_deliveries_status_check" CHECK ("status" IN ('pending', 'succeeded', 'failed')),
      CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("id"),
      CONSTRAINT "webhook_deliveries_endpoint_id_fkey" FOREIGN KEY ("endpoint_id")
        REFERENCES "webhook_endpoints"("id") ON DELETE CASCADE
    )`);
    await db.query(
      `CREATE INDEX "webhook_deliveries_endpoint_id_created_at_id_idx" ON "webhook_deliveries" ("endpoint_id", "created_at", "id")`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE "webhook_deliveries"`);
    await db.query(`DROP TABLE "webhook_endpoints"`);
  }
}
