import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import nodemailer, { type Transporter } from 'nodemailer';

import type { RenderedMail } from './templates/mail-template.js';

/**
 * SMTP through nodemailer, over `SMTP_URL` (smtp:// upgrades with STARTTLS when offered, smtps:// is
 * TLS from the start). Bounded timeouts, so a stalled server fails an attempt (retried later) instead
 * of holding a worker slot, or the shutdown, for minutes.
 */
@Injectable()
export class MailTransport implements OnApplicationShutdown {
  private transporter: Transporter | undefined;

  constructor(@InjectConfig() private readonly config: GatehouseConfig) {}

  get configured(): boolean {
    return this.config.mail.smtpUrl !== undefined;
  }

  async send(to: string, mail: RenderedMail): Promise<void> {
    await this.transport().sendMail({
      from: this.config.mail.from,
      to,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
    });
  }

  onApplicationShutdown(): void {
    this.transporter?.close();
  }

  private transport(): Transporter {
    const url = this.config.mail.smtpUrl;
    if (!url) {
      throw new Error('SMTP_URL is not set');
    }
    this.transporter ??= nodemailer.createTransport({
      url,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
      // nodemailer logs nothing unless asked: keep it so (its debug output contains the message).
      logger: false,
    });
    return this.transporter;
  }
}
