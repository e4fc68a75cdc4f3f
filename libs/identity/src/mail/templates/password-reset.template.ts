import { html, link } from '../mail-markup.js';
import { actionLink, inLayout } from './layout.js';
import type { MailTemplate } from './mail-template.js';

export interface TokenMailParams {
  /** How long the link works, for the reader. */
  readonly expiresInMinutes: number;
}

export interface TokenMailSecret {
  readonly token: string;
}

/** The link to `{ISSUER}/reset-password?token=…`; the token is the secret part of the mail. */
export const passwordReset: MailTemplate<TokenMailParams, TokenMailSecret> = {
  render(context, params, secret) {
    const href = link(context.issuer, '/reset-password', { token: secret.token });
    return inLayout(context, {
      subject: `Reset your ${context.productName} password`,
      text: [
        `Someone asked to reset the password of the ${context.productName} account ${context.recipient}.`,
        `To choose a new password, open this link within ${params.expiresInMinutes} minutes: ${href}`,
        'If it was not you, ignore this mail: your password stays as it is.',
      ],
      html: html`<p>
          Someone asked to reset the password of the ${context.productName} account
          <strong>${context.recipient}</strong>.
        </p>
        <p>To choose a new password, open this link within ${params.expiresInMinutes} minutes:</p>
        ${actionLink('Choose a new password', href)}
        <p>If it was not you, ignore this mail: your password stays as it is.</p>`,
    });
  },
};
