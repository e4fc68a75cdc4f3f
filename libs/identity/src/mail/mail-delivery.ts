import { Injectable, Logger } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import { Database, type JobAttempt, type MailMessage } from '@gatehouse/persistence';

import { open } from '../signing-keys/key-encryption.js';
import { describeDeliveryError } from './delivery-error.js';
import { isMailTemplateName, renderMail } from './mail-templates.js';
import { mailSecretsKey } from './mail.service.js';
import { MailTransport } from './mail-transport.js';

/** Thrown to the job queue so it schedules the next attempt; carries no stack to be logged. */
class MailAttemptFailed extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'MailAttemptFailed';
    this.stack = undefined;
  }
}

function mailIdOf(payload: unknown): string | undefined {
  const mailId = (payload as { mailId?: unknown } | null)?.mailId;
  return typeof mailId === 'string' ? mailId : undefined;
}

/**
 * The worker's side of a mail (task `mail.send`): render it, hand it to SMTP, record the outcome.
 * A failed attempt is recorded (`failed`, attempts, last error) and thrown back to the queue, which
 * retries with its backoff; after the last attempt the mail is kept as `dead` and the job ends.
 * Logs name the mail by id and template only: never its recipient, link or token.
 */
@Injectable()
export class MailDelivery {
  private readonly logger = new Logger(MailDelivery.name);
  private readonly secretsKey: Buffer;

  constructor(
    @InjectConfig() private readonly config: GatehouseConfig,
    private readonly database: Database,
    private readonly transport: MailTransport,
  ) {
    this.secretsKey = mailSecretsKey(config);
  }

  get enabled(): boolean {
    return this.transport.configured;
  }

  async deliver(payload: unknown, job: JobAttempt): Promise<void> {
    const mailId = mailIdOf(payload);
    const mail = mailId ? await this.database.mailMessages.findForDelivery(mailId) : null;
    if (!mail || mail.status === 'sent') {
      // Gone, or sent by an attempt whose completion was not recorded: nothing to send again.
      return;
    }
    try {
      await this.transport.send(mail.recipient, this.render(mail));
    } catch (error) {
      const reason = describeDeliveryError(error);
      if (job.attempt >= job.maxAttempts) {
        await this.database.mailMessages.markFailed(mail.id, 'dead', reason);
        this.logger.warn(
          `Mail ${mail.id} (${mail.template}) is dead after ${job.attempt} attempts: ${reason}`,
        );
        return;
      }
      await this.database.mailMessages.markFailed(mail.id, 'failed', reason);
      throw new MailAttemptFailed(reason);
    }
    await this.database.mailMessages.markSent(mail.id);
    this.logger.log(`Mail ${mail.id} (${mail.template}) sent`);
  }

  private render(mail: MailMessage) {
    if (!isMailTemplateName(mail.template)) {
      throw new Error(`Unknown mail template ${mail.template}`);
    }
    const secret: unknown = mail.secretSealed
      ? JSON.parse(open(this.secretsKey, mail.secretSealed, mail.id).toString('utf8'))
      : null;
    return renderMail(
      mail.template,
      {
        productName: this.config.mail.productName,
        issuer: this.config.issuer,
        recipient: mail.recipient,
      },
      mail.params,
      secret,
    );
  }
}
