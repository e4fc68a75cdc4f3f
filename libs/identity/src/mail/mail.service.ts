import { randomUUID } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import type { Repositories } from '@gatehouse/persistence';

import { deriveKey, seal } from '../signing-keys/key-encryption.js';
import type { MailRequest } from './mail-templates.js';

/** The job queue's task that delivers one mail (`MailDelivery`). */
export const MAIL_SEND_TASK = 'mail.send';

export const mailJobKey = (mailId: string) => `mail:${mailId}`;

export function mailSecretsKey(config: GatehouseConfig): Buffer {
  if (!config.keys.encryptionKey) {
    throw new Error('KEY_ENCRYPTION_KEY is not set: mail secrets cannot be sealed or opened.');
  }
  return deriveKey(config.keys.encryptionKey, 'mail-secrets');
}

/**
 * Sends mail that is never lost: `enqueue` writes the mail and its delivery job inside the caller's
 * unit of work, so the mail exists if and only if the change that causes it commits, and a worker
 * delivers it after the commit, retrying until it is sent or dead.
 */
@Injectable()
export class MailService {
  private readonly secretsKey: Buffer;

  constructor(@InjectConfig() private readonly config: GatehouseConfig) {
    this.secretsKey = mailSecretsKey(config);
  }

  /**
   * Call with the repositories of the transaction that causes the mail. A `secret` (a token in a link)
   * is sealed under KEY_ENCRYPTION_KEY, bound to the mail's id, and wiped once the mail is sent.
   * Returns the mail's id.
   */
  async enqueue(repositories: Repositories, request: MailRequest): Promise<string> {
    const id = randomUUID();
    const jobId = await repositories.jobs.add({
      task: MAIL_SEND_TASK,
      payload: { mailId: id },
      key: mailJobKey(id),
      maxAttempts: this.config.mail.maxAttempts,
    });
    await repositories.mailMessages.create({
      id,
      recipient: request.to,
      template: request.template,
      params: { ...request.params },
      secretSealed: request.secret
        ? seal(this.secretsKey, Buffer.from(JSON.stringify(request.secret)), id)
        : null,
      jobId,
    });
    return id;
  }
}
