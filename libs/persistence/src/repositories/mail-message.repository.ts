import type { EntityManager } from 'typeorm';

import type { MailMessage, MailStatus } from '../entities/mail-message.entity.js';
import { select, updateReturning } from './returning.js';

export interface NewMailMessage {
  readonly id: string;
  readonly recipient: string;
  readonly template: string;
  readonly params: Record<string, unknown>;
  readonly secretSealed: Buffer | null;
  readonly jobId: string;
}

/** Keyset position in the operators' listing; `at` is PostgreSQL's exact text of `created_at`. */
export interface MailCursor {
  readonly at: string;
  readonly id: string;
}

/** A mail as operators list it: never its params or secret. */
export type MailSummary = Omit<MailMessage, 'params' | 'secretSealed'>;

export interface MailListRow extends MailSummary {
  /** `created_at` as exact text, for the next page's cursor. */
  readonly position: string;
}

const SUMMARY_COLUMNS = `id, recipient, template, status, attempts, last_error AS "lastError",
  job_id::text AS "jobId", created_at AS "createdAt", last_attempt_at AS "lastAttemptAt",
  sent_at AS "sentAt"`;

export class MailMessageRepository {
  constructor(private readonly manager: EntityManager) {}

  async create(mail: NewMailMessage): Promise<void> {
    await this.manager.query(
      `INSERT INTO mail_messages (id, recipient, template, params, secret_sealed, job_id)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [mail.id, mail.recipient, mail.template, mail.params, mail.secretSealed, mail.jobId],
    );
  }

  /** Everything a delivery needs, secret included. */
  async findForDelivery(id: string): Promise<MailMessage | null> {
    const [row] = await select<MailMessage>(
      this.manager,
      `SELECT ${SUMMARY_COLUMNS}, params, secret_sealed AS "secretSealed"
       FROM mail_messages WHERE id = $1`,
      [id],
    );
    return row ?? null;
  }

  async findSummary(id: string): Promise<MailSummary | null> {
    const [row] = await select<MailSummary>(
      this.manager,
      `SELECT ${SUMMARY_COLUMNS} FROM mail_messages WHERE id = $1`,
      [id],
    );
    return row ?? null;
  }

  /** Sent: the secret part is wiped, it is never needed again. */
  async markSent(id: string): Promise<void> {
    await this.manager.query(
      `UPDATE mail_messages SET status = 'sent', attempts = attempts + 1, sent_at = now(),
         last_attempt_at = now(), last_error = NULL, secret_sealed = NULL
       WHERE id = $1`,
      [id],
    );
  }

  /** One failed attempt: `failed` while another is scheduled, `dead` after the last one. */
  async markFailed(id: string, status: 'failed' | 'dead', error: string): Promise<void> {
    await this.manager.query(
      `UPDATE mail_messages SET status = $2, attempts = attempts + 1, last_attempt_at = now(),
         last_error = $3
       WHERE id = $1`,
      [id, status, error.slice(0, 500)],
    );
  }

  /**
   * Queued again, only from `failed` or `dead` (an operator's retry never sends a sent mail twice).
   * Returns the mail, or null when it is missing or in another state.
   */
  async requeue(id: string): Promise<MailSummary | null> {
    const [row] = await updateReturning<MailSummary>(
      this.manager,
      `UPDATE mail_messages SET status = 'queued' WHERE id = $1 AND status IN ('failed', 'dead')
       RETURNING ${SUMMARY_COLUMNS}`,
      [id],
    );
    return row ?? null;
  }

  async linkJob(id: string, jobId: string): Promise<void> {
    await this.manager.query('UPDATE mail_messages SET job_id = $2 WHERE id = $1', [id, jobId]);
  }

  /** Newest first, keyset on (created_at, id); `limit + 1` rows so the caller sees whether more follow. */
  listPage(status: MailStatus | undefined, cursor: MailCursor | null, limit: number) {
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    if (status) {
      where.push(`status = ${param(status)}`);
    }
    if (cursor) {
      where.push(
        `(created_at, id) < (${param(cursor.at)}::timestamptz, ${param(cursor.id)}::uuid)`,
      );
    }
    return select<MailListRow>(
      this.manager,
      `SELECT ${SUMMARY_COLUMNS}, created_at::text AS position FROM mail_messages
       ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at DESC, id DESC
       LIMIT ${param(limit + 1)}`,
      params,
    );
  }
}
