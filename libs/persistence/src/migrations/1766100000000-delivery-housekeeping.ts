import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Housekeeping deletes settled logout and webhook deliveries older than the retention in batches
 * (`created_at < $1 … LIMIT`): an index on `created_at` finds a batch without reading every row.
 */
export class DeliveryHousekeeping1766100000000 implements MigrationInterface {
  name = 'DeliveryHousekeeping1766100000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(
      `CREATE INDEX "logout_deliveries_created_at_idx" ON "logout_deliveries" ("created_at")`,
    );
    await db.query(
      `CREATE INDEX "webhook_deliveries_created_at_idx" ON "webhook_deliveries" ("created_at")`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX "webhook_deliveries_created_at_idx"`);
    await db.query(`DROP INDEX "logout_deliveries_created_at_idx"`);
  }
}
