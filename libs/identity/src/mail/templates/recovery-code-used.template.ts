import { formatUtc, html, link } from '../mail-markup.js';
import { inLayout } from './layout.js';
import type { MailTemplate } from './mail-template.js';

export interface RecoveryCodeUsedParams {
  /** ISO 8601. */
  readonly usedAt: string;
  /** Unused codes left. */
  readonly remaining: number;
}

/** A recovery code stands in for the second factor: the owner hears of every use. */
export const recoveryCodeUsed: MailTemplate<RecoveryCodeUsedParams, null> = {
  render(context, params) {
    const when = formatUtc(new Date(params.usedAt));
    const recover = link(context.issuer, '/forgot-password');
    const subject = `A recovery code was used to sign in to ${context.productName}`;
    return inLayout(context, {
      subject,
      text: [
        `A recovery code of your ${context.productName} account ${context.recipient} was used to sign in on ${when}. ${params.remaining} unused codes are left.`,
        'If it was you, there is nothing to do; consider generating a new set of codes.',
        `If it was not, someone knows your password and a recovery code: choose a new password at once at ${recover}`,
      ],
      html: html`<p>
          A recovery code of your ${context.productName} account
          <strong>${context.recipient}</strong> was used to sign in on ${when}.
          ${String(params.remaining)} unused codes are left.
        </p>
        <p>If it was you, there is nothing to do; consider generating a new set of codes.</p>
        <p>
          If it was not, someone knows your password and a recovery code:
          <a href="${recover}">choose a new password</a> at once.
        </p>`,
    });
  },
};
