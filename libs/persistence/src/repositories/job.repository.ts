import type { EntityManager } from 'typeorm';

import { select } from './returning.js';

export interface NewJob {
  /** The task that runs it, e.g. `mail.send`. */
  readonly task: string;
  readonly payload: Record<string, unknown>;
  /**
   * At most one pending job per key: adding a job under a key that has one replaces it (and resets
   * its attempts), which is how a failed job is retried now.
   */
  readonly key?: string;
  /** Attempts before graphile-worker gives up (its default: 25). */
  readonly maxAttempts?: number;
  /** Not before this moment (a retry on a schedule of its own); default: now. */
  readonly runAt?: Date;
}

/**
 * The platform's job queue (graphile-worker, schema `graphile_worker`). `add_job` is a SQL function:
 * on a transaction's EntityManager the job exists if and only if that transaction commits, and the
 * workers hear of it (NOTIFY) only then.
 */
export class JobRepository {
  constructor(private readonly manager: EntityManager) {}

  /** Returns the job's id. */
  async add(job: NewJob): Promise<string> {
    const [row] = await select<{ id: string }>(
      this.manager,
      `SELECT (graphile_worker.add_job($1, payload := $2::json, max_attempts := $3::int,
         job_key := $4::text, run_at := $5::timestamptz)).id::text AS id`,
      [
        job.task,
        JSON.stringify(job.payload),
        job.maxAttempts ?? null,
        job.key ?? null,
        job.runAt ?? null,
      ],
    );
    if (!row) {
      throw new Error(`graphile_worker.add_job returned no job for ${job.task}`);
    }
    return row.id;
  }
}
