import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import {
  Database,
  type MailCursor,
  type MailListRow,
  type MailStatus,
  type MailSummary,
} from '@gatehouse/persistence';

import { AuditService } from '../audit/audit.service.js';
import { MailNotFoundError, MailNotRetryableError } from '../identity.errors.js';
import type { ClientContext } from '../sessions/session.service.js';
import { MAIL_SEND_TASK, mailJobKey } from './mail.service.js';

/** Operators' view of the mail (admin-api): what was sent, what failed, and a retry. */
@Injectable()
export class MailAdministrationService {
  constructor(
    @InjectConfig() private readonly config: GatehouseConfig,
    private readonly database: Database,
    private readonly audit: AuditService,
  ) {}

  /** Newest first; `limit + 1` rows so the caller knows whether another page follows. */
  list(
    status: MailStatus | undefined,
    cursor: MailCursor | null,
    limit: number,
  ): Promise<MailListRow[]> {
    return this.database.mailMessages.listPage(status, cursor, limit);
  }

  /**
   * A `failed` or `dead` mail is queued again with a fresh set of attempts, now. Its job key replaces
   * a pending retry of the same mail instead of adding a second job, so it is not sent twice.
   */
  retry(id: string, operatorId: string, context: ClientContext): Promise<MailSummary> {
    return this.database.transaction(async (repositories) => {
      const mail = await repositories.mailMessages.requeue(id);
      if (!mail) {
        throw (await repositories.mailMessages.findSummary(id))
          ? new MailNotRetryableError()
          : new MailNotFoundError();
      }
      const jobId = await repositories.jobs.add({
        task: MAIL_SEND_TASK,
        payload: { mailId: id },
        key: mailJobKey(id),
        maxAttempts: this.config.mail.maxAttempts,
      });
      await repositories.mailMessages.linkJob(id, jobId);
      await this.audit.record(repositories, {
        actor: `user:${operatorId}`,
        action: 'admin.mail_retried',
        subject: `mail:${id}`,
        ip: context.ip,
        details: { template: mail.template, attempts: mail.attempts },
      });
      return { ...mail, jobId };
    });
  }
}
