import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Mail that is never lost: one row per mail, written in the transaction that causes it together with
 * its graphile-worker job (whose own schema, `graphile_worker`, `migrateDatabase` installs).
 */
export class MailMessages1764700000000 implements MigrationInterface {
  name = 'MailMessages1764700000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE TABLE "mail_messages" (
      "id" uuid NOT NULL,
      "recipient" character varying(320) NOT NULL,
      "template" character varying(64) NOT NULL,
      "params" jsonb NOT NULL DEFAULT '{}',
      "secret_sealed" bytea,
      "status" character varying(16) NOT NULL DEFAULT 'queued',
      "attempts" integer NOT NULL DEFAULT 0,
      "last_error" character varying(500),
      "job_id" bigint,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "last_attempt_at" TIMESTAMP WITH TIME ZONE,
      "sent_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "mail_messages_status_check" CHECK ("status" IN ('queued', 'sent', 'failed', 'dead')),
      CONSTRAINT "mail_messages_pkey" PRIMARY KEY ("id")
    )`);
    await db.query(
      `CREATE INDEX "mail_messages_created_at_id_idx" ON "mail_messages" ("created_at", "id")`,
    );
    await db.query(
      `CREATE INDEX "mail_messages_status_created_at_id_idx" ON "mail_messages" ("status", "created_at", "id")`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE "mail_messages"`);
  }
}
